using Hearth.Runtime.Configuration;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Membership;

/// <summary>This silo as others see it in the membership table.</summary>
public sealed class SiloIdentity
{
    private volatile string? _httpAddress;

    public SiloIdentity(IOptions<SiloOptions> options, TimeProvider time)
    {
        Name = options.Value.Name;
        Host = Environment.MachineName;
        _httpAddress = options.Value.HttpAddress;
        StartedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    public string Name { get; }

    public string Host { get; }

    public long StartedAtMs { get; }

    /// <summary>
    /// Where other silos and load balancers reach this silo's HTTP endpoints: <c>Silo:HttpAddress</c>, else
    /// the address the web server bound to (set by the host once it listens).
    /// </summary>
    public string? HttpAddress
    {
        get => _httpAddress;
        set => _httpAddress = value;
    }
}
