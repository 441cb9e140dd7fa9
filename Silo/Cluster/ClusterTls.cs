using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hearth.Silo.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Connections.Security;

namespace Hearth.Silo.Cluster;

/// <summary>
/// The silo's TLS material, loaded once from <see cref="ClusterTlsOptions"/>, and the one decision it makes: whether a
/// peer's certificate belongs to the cluster. Both ends of every silo-to-silo connection and every gateway connection
/// present a certificate and check the other's, so a process without the cluster's certificate can neither join nor
/// talk to a silo.
/// </summary>
/// <remarks>
/// Peers are told apart by their certificate alone, not by host name: silos reach each other at IP addresses that
/// change with every pod, so the name in a certificate could not be checked against anything.
/// </remarks>
public sealed partial class ClusterTls
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2Collection? _clusterCa;

    private ClusterTls(X509Certificate2 certificate, X509Certificate2Collection? clusterCa)
    {
        Certificate = certificate;
        _clusterCa = clusterCa;
    }

    /// <summary>The silo's own certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Where refused peers are logged; set once the silo's services exist (a refusal before then goes unlogged).</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>
    /// Loads the certificate, its key and the cluster CA named by <paramref name="options"/>, or adds a failure naming the
    /// key at fault. Null when TLS is off (no certificate configured) or a file could not be used.
    /// </summary>
    public static ClusterTls? Load(ClusterTlsOptions options, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(failures);
        if (!options.Enabled)
        {
            foreach (var (key, value) in new[] { ("KeyPath", options.KeyPath), ("CertificatePasswordFile", options.CertificatePasswordFile), ("ClusterCaPath", options.ClusterCaPath) })
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    failures.Add($"Orleans:Tls:{key} is set but Orleans:Tls:CertificatePath is not; set the certificate too, or neither.");
                }
            }

            return null;
        }

        var count = failures.Count;
        var password = LoadPassword(options, failures);
        var certificate = failures.Count == count ? LoadCertificate(options, password, failures) : null;
        var clusterCa = options.ClusterCaPath is { Length: > 0 } caPath ? PemCertificates.Load("Orleans:Tls:ClusterCaPath", caPath, failures) : null;
        if (certificate is null || failures.Count > count)
        {
            return null;
        }

        var tls = new ClusterTls(certificate, clusterCa);
        if (clusterCa is not null && !tls.Accepts(certificate, chain: null))
        {
            // A silo whose own certificate its peers would refuse could never join: say so now, not after a join timeout.
            failures.Add($"Orleans:Tls:CertificatePath '{options.CertificatePath}' is not issued by the cluster CA in Orleans:Tls:ClusterCaPath '{options.ClusterCaPath}' (or has expired).");
            return null;
        }

        return tls;
    }

    /// <summary>
    /// Orleans' TLS settings: this silo's certificate on every connection, a certificate required of every peer, silo or
    /// gateway client, and accepted only if it belongs to the cluster (<see cref="Accepts"/>).
    /// </summary>
    public void Configure(TlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.LocalCertificate = Certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = Validate;
    }

    /// <summary>
    /// Whether <paramref name="peer"/> belongs to the cluster: it chains to the cluster CA (intermediates from the peer's
    /// own chain, the validity period checked, revocation not: the CA is the cluster's own and publishes no lists), or,
    /// with no CA configured, it is this silo's own certificate. The platform's trust store plays no part, so a
    /// certificate from a public CA is no way in.
    /// </summary>
    public bool Accepts(X509Certificate2 peer, X509Chain? chain)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (_clusterCa is null)
        {
            return peer.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span);
        }

        using var ours = new X509Chain();
        ours.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        ours.ChainPolicy.CustomTrustStore.AddRange(_clusterCa);
        ours.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                ours.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return ours.Build(peer);
    }

    private bool Validate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        // The platform's errors (an untrusted root, a name that is an IP address) are not ours to judge by: Accepts is.
        if (Accepts(certificate, chain))
        {
            return true;
        }

        LogRefused(Logger, certificate.Subject, certificate.Issuer, certificate.Thumbprint);
        return false;
    }

    private static string? LoadPassword(ClusterTlsOptions options, List<string> failures) =>
        Secrets.Read("Orleans:Tls:CertificatePassword", options.CertificatePassword, "Orleans:Tls:CertificatePasswordFile", options.CertificatePasswordFile, failures);

    private static X509Certificate2? LoadCertificate(ClusterTlsOptions options, string? password, List<string> failures)
    {
        var path = options.CertificatePath!;
        X509Certificate2 certificate;
        bool pem;
        try
        {
            pem = File.ReadAllText(path).Contains("-----BEGIN", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures.Add($"Orleans:Tls:CertificatePath '{path}' cannot be read: {e.Message}");
            return null;
        }

        // A PEM certificate's key is in Orleans:Tls:KeyPath, or else in the same file.
        var keyPath = options.KeyPath is { Length: > 0 } keyFile ? keyFile : path;
        var key = pem && options.KeyPath is { Length: > 0 } ? "Orleans:Tls:KeyPath" : "Orleans:Tls:CertificatePath";
        try
        {
            certificate = !pem
                ? X509CertificateLoader.LoadPkcs12FromFile(path, password)
                : password is null
                    ? X509Certificate2.CreateFromPemFile(path, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, password, keyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures.Add($"{key} '{(pem ? keyPath : path)}' cannot be read: {e.Message}");
            return null;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // A wrong password, a key that is not the certificate's, no key at all, a file that is neither PEM nor PKCS#12.
            failures.Add(pem
                ? $"{key} '{keyPath}' holds no private key of the certificate in Orleans:Tls:CertificatePath '{path}' (or the password is wrong): {e.Message}"
                : $"Orleans:Tls:CertificatePath '{path}' is not a PKCS#12 file the certificate password opens: {e.Message}");
            return null;
        }

        if (!certificate.HasPrivateKey)
        {
            failures.Add($"{key} '{path}': the certificate has no private key (give its PEM key in Orleans:Tls:KeyPath).");
            return null;
        }

        var usages = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().SelectMany(e => e.EnhancedKeyUsages.Cast<Oid>()).Select(o => o.Value).ToList();
        if (usages.Count > 0 && !(usages.Contains(ServerAuthentication) && usages.Contains(ClientAuthentication)))
        {
            failures.Add($"Orleans:Tls:CertificatePath '{path}' must allow both server and client authentication (extended key usages 1.3.6.1.5.5.7.3.1 and .2): a silo both accepts and opens connections.");
            return null;
        }

        return certificate;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a silo connection: the peer's certificate {Subject} (issuer {Issuer}, thumbprint {Thumbprint}) is not the cluster's")]
    private static partial void LogRefused(ILogger logger, string subject, string issuer, string thumbprint);
}
