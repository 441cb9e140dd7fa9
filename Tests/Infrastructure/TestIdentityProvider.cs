using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hearth.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// An OpenID identity provider as an organisation runs one: HTTPS on 127.0.0.1 with a certificate from a CA of its
/// own (written as <see cref="CaPath"/>), serving its discovery document and signing keys (RS256), and issuing
/// tokens signed with its key or, for a forgery, with another key under the same key id.
/// </summary>
public sealed class TestIdentityProvider : IAsyncDisposable
{
    private const string KeyId = "hearth-test-1";

    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _forger = RSA.Create(2048);
    private readonly WebApplication _app;
    private readonly TestCertificates _certificates;
    private readonly X509Certificate2 _certificate;

    private TestIdentityProvider(WebApplication app, string issuer, TestCertificates certificates, X509Certificate2 certificate)
    {
        _app = app;
        Issuer = issuer;
        _certificates = certificates;
        _certificate = certificate;
    }

    /// <summary>Its address, which is also the issuer its tokens name: what <c>Auth:Jwt:Authority</c> is set to.</summary>
    public string Issuer { get; }

    /// <summary>The PEM certificate of the CA that issued its HTTPS certificate.</summary>
    public string CaPath => _certificates.ClusterCaPath;

    public static async Task<TestIdentityProvider> StartAsync()
    {
        var port = TestPorts.Next();
        var issuer = $"https://127.0.0.1:{port}";
        var certificates = new TestCertificates();
        var https = certificates.Loopback();
        // Kestrel keeps the key of a certificate loaded from PKCS#12.
        var serverCertificate = X509CertificateLoader.LoadPkcs12FromFile(https.Pkcs12("idp"), "idp");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(serverCertificate)));
        var app = builder.Build();
        var provider = new TestIdentityProvider(app, issuer, certificates, serverCertificate);
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["jwks_uri"] = $"{issuer}/keys",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/keys", () =>
        {
            var parameters = provider._key.ExportParameters(false);
            return Results.Json(new
            {
                keys = new[]
                {
                    new { kty = "RSA", use = "sig", alg = "RS256", kid = KeyId, n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
                },
            });
        });
        await app.StartAsync();
        return provider;
    }

    /// <summary>A token for <paramref name="audience"/> granting <paramref name="permissions"/>, valid for ten minutes.</summary>
    /// <param name="forged">Signed with another key under this provider's key id.</param>
    public string Token(string audience, string permissions, bool forged = false) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", "operator-9")]),
            Claims = new Dictionary<string, object> { ["permissions"] = permissions },
            Audience = audience,
            Issuer = Issuer,
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(forged ? _forger : _key) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256),
        });

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _certificate.Dispose();
        _key.Dispose();
        _forger.Dispose();
        _certificates.Dispose();
    }
}
