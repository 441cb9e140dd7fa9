using System.Reflection;
using System.Runtime.InteropServices;

namespace Hearth.Kafka.Native;

/// <summary>
/// Makes Confluent.Kafka (and any assembly of ours that calls librdkafka directly) use the librdkafka that
/// ships in the <c>librdkafka.redist</c> package, whatever else the machine has.
/// </summary>
/// <remarks>
/// The package's default Linux build needs <c>libsasl2.so.3</c>, which Debian 12 lacks; left alone, the
/// runtime then falls back to whatever <c>librdkafka</c> the system has (Debian's is 2.0.2, too old for
/// Confluent.Kafka 2.16, which fails at the first consume). The package also carries a self-contained build
/// (<c>centos8-librdkafka.so</c>); this loader maps every request for librdkafka to that file. Call
/// <see cref="Load"/> before the first Kafka client is created; it is idempotent.
/// <para>
/// It sets the DllImport resolver of Confluent.Kafka's assembly, which changes the library every Kafka client of
/// the process loads; so applications call it from their composition roots, and libraries (the Kafka stream
/// provider) never do.
/// </para>
/// </remarks>
public static class Librdkafka
{
    private const string SelfContained = "centos8-librdkafka.so";
    private static readonly Lock Gate = new();
    private static readonly HashSet<Assembly> Resolved = [];
    private static IntPtr _handle;

    /// <summary>The file loaded, once <see cref="Load"/> has run on Linux.</summary>
    public static string? LoadedPath { get; private set; }

    /// <summary>Routes Confluent.Kafka's librdkafka to the packaged self-contained build (Linux x64; elsewhere a no-op).</summary>
    public static void Load() => UseFor(typeof(Confluent.Kafka.Library).Assembly);

    /// <summary>Routes the <c>librdkafka</c> P/Invokes of <paramref name="assembly"/> to the same library.</summary>
    public static void UseFor(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return;
        }

        lock (Gate)
        {
            if (!Resolved.Add(assembly))
            {
                return;
            }

            if (assembly != typeof(Confluent.Kafka.Library).Assembly)
            {
                UseFor(typeof(Confluent.Kafka.Library).Assembly);
            }

            NativeLibrary.SetDllImportResolver(assembly, static (name, _, _) =>
                name.Contains("librdkafka", StringComparison.Ordinal) ? Handle() : IntPtr.Zero);
        }
    }

    private static IntPtr Handle()
    {
        lock (Gate)
        {
            if (_handle == IntPtr.Zero)
            {
                // A portable build keeps the package's native files under runtimes/<rid>/native; a build for one
                // runtime (dotnet publish -r linux-x64) puts them next to the application.
                string[] candidates =
                [
                    Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", SelfContained),
                    Path.Combine(AppContext.BaseDirectory, SelfContained),
                ];
                var path = candidates.FirstOrDefault(File.Exists)
                    ?? throw new DllNotFoundException(
                        $"The librdkafka of the librdkafka.redist package is missing: neither {candidates[0]} nor {candidates[1]} exists (is the package referenced by the application?).");

                _handle = NativeLibrary.Load(path);
                LoadedPath = path;
            }

            return _handle;
        }
    }
}
