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

    /// <summary>
    /// Silo-to-silo and gateway TLS, mutual (section <c>Orleans:Tls</c>). Off unless a certificate is configured:
    /// then every connection between silos is encrypted and a silo without the cluster's certificate cannot join.
    /// </summary>
    public ClusterTlsOptions Tls { get; set; } = new();
}

/// <summary>
/// The silo's certificate and what it trusts in its peers. Section <c>Orleans:Tls</c>. Paths rather than a certificate
/// store, so that a Kubernetes Secret or any mounted file serves.
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>
    /// The silo's certificate with its private key: a PKCS#12 file (.pfx, .p12) or PEM. Unset (the default), silos
    /// talk in plain TCP, as before TLS. It must allow server and client authentication (no extended key usage, or both),
    /// since every silo both accepts and opens connections.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/>; not needed for PKCS#12, or a PEM holding its key.</summary>
    public string? KeyPath { get; set; }

    /// <summary>
    /// The password of the PKCS#12 file or the encrypted PEM key. A secret: from an environment variable
    /// (<c>Orleans__Tls__CertificatePassword</c>) or <see cref="CertificatePasswordFile"/>, never appsettings.json,
    /// where it is refused.
    /// </summary>
    public string? CertificatePassword { get; set; }

    /// <summary>A file holding <see cref="CertificatePassword"/> (a mounted Secret); a trailing line break is not part of it.</summary>
    public string? CertificatePasswordFile { get; set; }

    /// <summary>
    /// The cluster's CA certificate (PEM, one or more): a peer is accepted only if its certificate chains to one of
    /// them. Unset, a peer must present the very certificate this silo has (one certificate shared by the cluster).
    /// </summary>
    public string? ClusterCaPath { get; set; }

    /// <summary>Whether TLS is on: a certificate is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}
