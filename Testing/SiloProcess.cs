using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Hearth.Testing;

/// <summary>
/// A silo in a process of its own, so that it can be stopped with SIGTERM, killed with SIGKILL (a crash:
/// nothing flushed) or frozen with SIGSTOP, as an operating system would do it.
/// </summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Action<string>? _output;
    private readonly Lock _lock = new();
    private readonly List<string> _lines = [];
    private bool _frozen;
    private TaskCompletionSource _newLine = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SiloProcess(string name, Process process, Action<string>? output)
    {
        Name = name;
        _process = process;
        _output = output;
    }

    public string Name { get; }

    /// <summary>The silo's HTTP address, once it has logged it.</summary>
    public string? HttpAddress { get; private set; }

    /// <summary>The operating system's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Whether the process runs (started, not exited, not frozen).</summary>
    public bool IsRunning => !_process.HasExited && !_frozen;

    /// <summary>Whether the process has exited, and with what code.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The built silo executable of the same build configuration as the running assembly.</summary>
    public static string SiloAssembly
    {
        get
        {
            // artifacts/bin/<project>/<configuration>/ -> artifacts/bin/Silo/<configuration>/Hearth.Silo.dll
            var running = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var path = Path.Combine(running.Parent!.Parent!.FullName, "Silo", running.Name, "Hearth.Silo.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("The silo is not built", path);
        }
    }

    /// <summary>
    /// The runtime settings of a silo that shares its machine with other silos, as <c>deploy/local-cluster.sh</c>
    /// runs them: workstation GC. The silo's own server GC gives each process a collector thread per core, and
    /// with three silos on two cores their collections stalled each other for seconds (see local-cluster.sh).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> SharingAMachine = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DOTNET_gcServer"] = "0",
    };

    /// <summary>
    /// Starts <c>Hearth.Silo</c> with <paramref name="settings"/> as <c>--Key=value</c> arguments and
    /// <paramref name="environment"/> (runtime settings such as <see cref="SharingAMachine"/>) in its environment.
    /// </summary>
    public static SiloProcess Start(string name, IReadOnlyDictionary<string, string?> settings, Action<string>? output,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(SiloAssembly);
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        start.Environment["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled";
        start.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var silo = new SiloProcess(name, process, output);
        process.OutputDataReceived += (_, e) => silo.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => silo.OnLine(e.Data);
        process.Exited += (_, _) => silo.OnLine(null);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>What the process has written so far, standard output and error (a copy): once it exited, everything.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Waits until the silo reports itself active (Orleans has made it an active member of its cluster).</summary>
    public Task WaitUntilActiveAsync(TimeSpan timeout) =>
        WaitForLineAsync(l => l.Contains($"Silo {Name} is active", StringComparison.Ordinal), timeout, "active");

    /// <summary>Waits, without polling, until the silo writes a line that matches.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = 0;
        while (true)
        {
            Task next;
            lock (_lock)
            {
                for (; seen < _lines.Count; seen++)
                {
                    if (match(_lines[seen]))
                    {
                        return _lines[seen];
                    }
                }

                next = _newLine.Task;
            }

            if (_process.HasExited && next.IsCompleted)
            {
                throw new InvalidOperationException($"{Name} exited (code {_process.ExitCode}) before: {what}");
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(next, Task.Delay(left)) != next)
            {
                throw new TimeoutException($"{Name}: not within {timeout}: {what}");
            }
        }
    }

    /// <summary>Graceful stop: SIGTERM, and wait for the process to finish its shutdown.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        Signal(Sigterm);
        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    /// <summary>Waits for the process to exit by itself.</summary>
    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    /// <summary>A crash: SIGKILL, nothing flushed, no goodbye to the cluster.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    /// <summary>Freezes the process (SIGSTOP), as a long GC pause or a stalled VM would.</summary>
    public void Freeze()
    {
        Signal(Sigstop);
        _frozen = true;
    }

    /// <summary>Thaws a frozen process (SIGCONT).</summary>
    public void Thaw()
    {
        Signal(Sigcont);
        _frozen = false;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Thaw();
            Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private const int Sigterm = 15;
    private const int Sigstop = 19;
    private const int Sigcont = 18;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    private void Signal(int signal)
    {
        if (SendSignal(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [GeneratedRegex(@"Now listening on: (?<address>http://\S+)")]
    private static partial Regex ListeningLine();

    private void OnLine(string? line)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (line is not null)
            {
                _lines.Add(line);
                if (HttpAddress is null && ListeningLine().Match(line) is { Success: true } m)
                {
                    HttpAddress = m.Groups["address"].Value;
                }
            }

            signal = _newLine;
            _newLine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
        if (line is not null)
        {
            _output?.Invoke($"[{Name}] {line}");
        }
    }
}
