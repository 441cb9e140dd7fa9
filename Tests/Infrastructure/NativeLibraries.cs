using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Hearth.Kafka.Native;

namespace Hearth.Tests.Infrastructure;

internal static class NativeLibraries
{
    /// <summary>Before any test creates a Kafka client: the librdkafka of the NuGet package, never the system's.</summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "The test assembly is the process's entry point for the tests.")]
    internal static void Load() => Librdkafka.Load();
}
