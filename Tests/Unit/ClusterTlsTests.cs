using System.Security.Cryptography.X509Certificates;
using Hearth.Silo.Configuration;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Unit;

/// <summary>
/// Orleans:Tls as the silo reads it: off by default, every file checked at start with its key named, and the one
/// decision, which peers belong to the cluster.
/// </summary>
public sealed class ClusterTlsTests : IDisposable
{
    private readonly TestCertificates _certificates = new();

    [Fact]
    public void NoCertificate_TlsIsOff()
    {
        Assert.Null(TestSettings.Read([]).ClusterTls);
    }

    [Fact]
    public void PemCertificateAndCa_TlsIsOn_AcceptsTheClustersSilos_RefusesOtherCasAndSelfSigned()
    {
        var tls = TestSettings.Read(_certificates.Settings(_certificates.Silo("silo-a"))).ClusterTls;

        Assert.NotNull(tls);
        Assert.True(tls.Certificate.HasPrivateKey);
        Assert.True(tls.Accepts(Load(_certificates.Silo("silo-b")), chain: null));
        Assert.False(tls.Accepts(Load(_certificates.Rogue("silo-b")), chain: null));
        Assert.False(tls.Accepts(Load(_certificates.SelfSigned("silo-b")), chain: null));
    }

    [Fact]
    public void Pkcs12WithPasswordFile_NoCa_AcceptsOnlyTheSameCertificate()
    {
        using var directory = new TempDirectory();
        var silo = _certificates.Silo("silo-a");
        var passwordFile = directory.File("password");
        File.WriteAllText(passwordFile, "s3cret\n");

        var tls = TestSettings.Read(new()
        {
            ["Orleans:Tls:CertificatePath"] = silo.Pkcs12("s3cret"),
            ["Orleans:Tls:CertificatePasswordFile"] = passwordFile,
        }).ClusterTls;

        Assert.NotNull(tls);
        Assert.True(tls.Accepts(Load(silo), chain: null));
        Assert.False(tls.Accepts(Load(_certificates.Silo("silo-b")), chain: null));
    }

    [Fact]
    public void BadFiles_FailTheStart_NamingTheKey()
    {
        var silo = _certificates.Silo("silo-a");
        var other = _certificates.Silo("silo-b");
        var rogue = _certificates.Rogue("silo-a");

        Fails(new() { ["Orleans:Tls:CertificatePath"] = "/nonexistent/silo.crt" }, "Orleans:Tls:CertificatePath");
        // A key that is not the certificate's.
        Fails(new() { ["Orleans:Tls:CertificatePath"] = silo.CertificatePath, ["Orleans:Tls:KeyPath"] = other.KeyPath }, "Orleans:Tls:KeyPath");
        // A PEM certificate without its key.
        Fails(new() { ["Orleans:Tls:CertificatePath"] = silo.CertificatePath }, "Orleans:Tls:CertificatePath");
        Fails(new() { ["Orleans:Tls:CertificatePath"] = silo.Pkcs12("right"), ["Orleans:Tls:CertificatePassword"] = "wrong" }, "Orleans:Tls:CertificatePath");
        Fails(_certificates.Settings(silo).With(new Dictionary<string, string?> { ["Orleans:Tls:ClusterCaPath"] = "/nonexistent/ca.pem" }), "Orleans:Tls:ClusterCaPath");
        Fails(_certificates.Settings(silo).With(new Dictionary<string, string?> { ["Orleans:Tls:ClusterCaPath"] = silo.KeyPath }), "Orleans:Tls:ClusterCaPath");
        // Its own certificate not from the cluster CA: its peers would refuse it.
        Fails(_certificates.Settings(rogue), "Orleans:Tls:ClusterCaPath");
        Fails(new() { ["Orleans:Tls:ClusterCaPath"] = _certificates.ClusterCaPath }, "Orleans:Tls:CertificatePath");
        Fails(new() { ["Orleans:Tls:CertificatePath"] = silo.CertificatePath, ["Orleans:Tls:KeyPath"] = silo.KeyPath, ["Orleans:Tls:CertificatePassword"] = "a", ["Orleans:Tls:CertificatePasswordFile"] = "/nonexistent" }, "Orleans:Tls:CertificatePasswordFile");
    }

    [Fact]
    public void PasswordInAConfigurationFile_IsRefused_NamingTheKey()
    {
        using var directory = new TempDirectory();
        var json = directory.File("appsettings.json");
        File.WriteAllText(json, """{ "Orleans": { "Tls": { "CertificatePassword": "s3cret" } } }""");
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Kafka:BootstrapServers"] = "kafka:9092" })
            .AddJsonFile(json)
            .Build();

        var failure = Assert.Throws<OptionsValidationException>(() => SiloSettings.Read(configuration));
        Assert.Contains("Orleans:Tls:CertificatePassword must not be in a configuration file", failure.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _certificates.Dispose();

    private static X509Certificate2 Load(SiloCertificate certificate) => X509CertificateLoader.LoadCertificateFromFile(certificate.CertificatePath);

    private static void Fails(Dictionary<string, string?> values, string key)
    {
        var failure = Assert.Throws<OptionsValidationException>(() => TestSettings.Read(values));
        Assert.Contains(failure.Failures, f => f.StartsWith(key, StringComparison.Ordinal) || f.Contains(" " + key + " ", StringComparison.Ordinal));
    }
}
