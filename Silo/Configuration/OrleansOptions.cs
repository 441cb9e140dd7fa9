namespace Hearth.Silo.Configuration;

/// <summary>The silo's Orleans cluster. Section <c>Orleans</c>.</summary>
public sealed class OrleansOptions
{
    public const string SectionName = "Orleans";

    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;
    public const string DefaultClusterId = "hearth";
    public const string DefaultServiceId = "hearth";

    /// <summary>Silo-to-silo port; 0 picks a free one (and advertises it).</summary>
    public int SiloPort { get; set; } = DefaultSiloPort;

    /// <summary>Client gateway port; 0 picks a free one (and advertises it).</summary>
    public int GatewayPort { get; set; } = DefaultGatewayPort;

    /// <summary>The cluster the silo joins: silos with the same id (in the same database) form one cluster.</summary>
    public string ClusterId { get; set; } = DefaultClusterId;

    /// <summary>The service: grain state belongs to it and survives redeployments under new cluster ids.</summary>
    public string ServiceId { get; set; } = DefaultServiceId;

    /// <summary>
    /// The IP address other silos reach this one at. Default: 127.0.0.1 for one silo (SQLite), the machine's
    /// first non-loopback address for a cluster (set it to the pod IP in Kubernetes).
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// Serve the Orleans Dashboard at <c>/orleans</c>. Off by default: it collects Orleans' counters every second
    /// whether anyone looks or not, and two of them count the silo's activations one by one, so a silo's idle CPU grows
    /// with the controllers it holds (about 0.05 cores per 100,000).
    /// </summary>
    public bool Dashboard { get; set; }

    /// <summary>
    /// Serve the Orleans Dashboard's trace page, which streams the silo's log (grain ids, errors) to any reader with
    /// read permission. Off by default.
    /// </summary>
    public bool DashboardTrace { get; set; }
}
