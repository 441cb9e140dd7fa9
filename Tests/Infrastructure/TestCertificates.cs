using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// A cluster CA and certificates for silos, made in the test (ECDSA P-256, quick to make) and written as PEM files the
/// way an operator's would be mounted: a certificate, its key, the CA certificate. Also a rogue CA, whose certificates
/// look the same in every field but the issuer's key, and a certificate for an HTTPS server on 127.0.0.1.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly OidCollection BothAuthentications = [new("1.3.6.1.5.5.7.3.1"), new("1.3.6.1.5.5.7.3.2")];

    private readonly TempDirectory _directory = new();
    private readonly X509Certificate2 _clusterCa;
    private readonly X509Certificate2 _rogueCa;

    public TestCertificates()
    {
        _clusterCa = NewCa("CN=Hearth cluster CA");
        // The same name as the cluster's CA: only its key tells it apart.
        _rogueCa = NewCa("CN=Hearth cluster CA");
        ClusterCaPath = _directory.File("cluster-ca.pem");
        File.WriteAllText(ClusterCaPath, _clusterCa.ExportCertificatePem());
    }

    /// <summary>The cluster CA's certificate (PEM), what <c>Orleans:Tls:ClusterCaPath</c> names.</summary>
    public string ClusterCaPath { get; }

    /// <summary>A silo certificate issued by the cluster CA.</summary>
    public SiloCertificate Silo(string name) => Issue(name, _clusterCa, name);

    /// <summary>A certificate for an HTTPS server on 127.0.0.1 (<c>CN=127.0.0.1</c>, the address in its alternative names), issued by the cluster CA.</summary>
    public SiloCertificate Loopback() => Issue("127.0.0.1", _clusterCa, "loopback", IPAddress.Loopback);

    /// <summary>A silo certificate issued by another CA of the same name.</summary>
    public SiloCertificate Rogue(string name) => Issue(name, _rogueCa, "rogue-" + name);

    /// <summary>A self-signed silo certificate.</summary>
    public SiloCertificate SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = SiloRequest(name, key);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return Write("self-" + name, certificate, key);
    }

    /// <summary>The settings that give a silo <paramref name="certificate"/> and the cluster CA.</summary>
    public Dictionary<string, string?> Settings(SiloCertificate certificate) => new()
    {
        ["Orleans:Tls:CertificatePath"] = certificate.CertificatePath,
        ["Orleans:Tls:KeyPath"] = certificate.KeyPath,
        ["Orleans:Tls:ClusterCaPath"] = ClusterCaPath,
    };

    /// <summary>
    /// The settings of a silo with <paramref name="certificate"/> (from another CA) that trusts both that CA and the
    /// cluster's: it passes its own start checks and accepts the cluster's silos, so only they can keep it out.
    /// </summary>
    public Dictionary<string, string?> RogueSettings(SiloCertificate certificate)
    {
        var bundle = _directory.File("rogue-and-cluster-ca.pem");
        File.WriteAllText(bundle, _rogueCa.ExportCertificatePem() + "\n" + _clusterCa.ExportCertificatePem());
        return new()
        {
            ["Orleans:Tls:CertificatePath"] = certificate.CertificatePath,
            ["Orleans:Tls:KeyPath"] = certificate.KeyPath,
            ["Orleans:Tls:ClusterCaPath"] = bundle,
        };
    }

    public void Dispose()
    {
        _clusterCa.Dispose();
        _rogueCa.Dispose();
        _directory.Dispose();
    }

    private static X509Certificate2 NewCa(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static CertificateRequest SiloRequest(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(BothAuthentications, false));
        return request;
    }

    private SiloCertificate Issue(string name, X509Certificate2 ca, string file, IPAddress? address = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = SiloRequest(name, key);
        if (address is not null)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(address);
            request.CertificateExtensions.Add(names.Build());
        }

        // Names its issuer's key, so that a chain is built to the right one of two CAs with the same name.
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var certificate = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
        return Write(file, certificate, key);
    }

    private SiloCertificate Write(string file, X509Certificate2 certificate, ECDsa key)
    {
        var certificatePath = _directory.File(file + ".crt");
        var keyPath = _directory.File(file + ".key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return new SiloCertificate(certificatePath, keyPath);
    }
}

/// <summary>A silo certificate's PEM files.</summary>
public sealed record SiloCertificate(string CertificatePath, string KeyPath)
{
    /// <summary>Writes the certificate and its key as one PKCS#12 file protected by <paramref name="password"/>.</summary>
    public string Pkcs12(string password)
    {
        using var certificate = X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath);
        var path = Path.ChangeExtension(CertificatePath, ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }
}
