namespace Hearth.Silo.Configuration;

/// <summary>This silo's identity. Section <c>Silo</c>.</summary>
public sealed class SiloOptions
{
    public const string SectionName = "Silo";

    /// <summary>A name unique in the cluster; defaults to <c>host-pid</c>.</summary>
    public string Name { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>
    /// The address other silos and the load balancer use to reach this silo's HTTP endpoints
    /// (<c>http://10.0.0.7:8080</c>). Default: the address the silo listens on, which is right unless it
    /// listens on a wildcard or behind a NAT (containers).
    /// </summary>
    public string? HttpAddress { get; set; }
}
