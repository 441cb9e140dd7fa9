using System.Diagnostics;
using Hearth.Testing;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// nginx (Debian's) in front of silos on 127.0.0.1, configured from <c>deploy/nginx/hearth.conf.template</c>,
/// the same file <c>deploy/local-cluster.sh</c> uses.
/// </summary>
public sealed class NginxLoadBalancer : IDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NginxLoadBalancer(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        Address = address;
    }

    public Uri Address { get; }

    public static NginxLoadBalancer Start(IEnumerable<string> upstreams)
    {
        var nginx = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed; ./test.sh installs it (apt-get install nginx).");
        var port = TestPorts.Next();
        var directory = Path.Combine(Path.GetTempPath(), "hearth-nginx-" + Guid.NewGuid().ToString("N"));
        foreach (var sub in new[] { "logs", "temp" })
        {
            Directory.CreateDirectory(Path.Combine(directory, sub));
        }

        var servers = string.Join(" ", upstreams.Select(u => $"server {new Uri(u).Authority} max_fails=1 fail_timeout=3s;"));
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "nginx", "hearth.conf.template"));
        var config = Path.Combine(directory, "nginx.conf");
        File.WriteAllText(config, template
            .Replace("@LB_PORT@", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@UPSTREAMS@", servers, StringComparison.Ordinal)
            .Replace("@USER@", Environment.UserName, StringComparison.Ordinal));
        var start = new ProcessStartInfo(nginx)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-p", directory, "-c", config, "-g", "daemon off;" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start");
        return new NginxLoadBalancer(process, directory, new Uri($"http://127.0.0.1:{port}"));
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
