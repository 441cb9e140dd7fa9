using System.Security.Claims;
using Hearth.Silo.Security;
using Hearth.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Unit;

/// <summary>API keys: how they are made, hashed, found, configured; what a token's claims grant; where a login may send a browser.</summary>
public sealed class ApiKeyTests
{
    [Fact]
    public void Hash_IsTheSha256OfTheKeysUtf8_InLowerCaseHex()
    {
        // FIPS 180-2's test vector.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyStore.Hash("abc"));
    }

    [Fact]
    public void Generate_Makes256RandomBits_WithThePrefix_EachKeyNew()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => ApiKeyStore.Generate()).ToList();

        Assert.All(keys, k => Assert.StartsWith(ApiKeyStore.Prefix, k, StringComparison.Ordinal));
        // 32 bytes in base64url, unpadded: 43 characters.
        Assert.All(keys, k => Assert.Equal(ApiKeyStore.Prefix.Length + 43, k.Length));
        Assert.All(keys, k => Assert.DoesNotContain(k[ApiKeyStore.Prefix.Length..], c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')));
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Find_KnowsAKeyByItsHash_NotByTheHashItself_NorAnotherKey()
    {
        var control = ApiKeyStore.Generate();
        var read = ApiKeyStore.Generate();
        var store = Store(("ops", control, "control"), ("viewer", read, "read"));

        Assert.Equal(("ops", Permission.Control), (store.Find(control)!.Name, store.Find(control)!.Permissions));
        Assert.Equal(("viewer", Permission.Read), (store.Find(read)!.Name, store.Find(read)!.Permissions));
        Assert.Null(store.Find(ApiKeyStore.Hash(control)));
        Assert.Null(store.Find(ApiKeyStore.Generate()));
        Assert.Null(store.Find(""));
    }

    [Theory]
    [InlineData("read", Permission.Read)]
    [InlineData("control", Permission.Control)]
    [InlineData("read,control", Permission.Control)]
    [InlineData("Read Control", Permission.Control)]
    [InlineData("admin", Permission.None)]
    public void Permissions_ControlImpliesRead(string words, Permission expected)
    {
        var permission = Permissions.ParseAll(words);

        Assert.Equal(expected, permission);
        Assert.Equal(permission.HasFlag(Permission.Read), Permissions.Claims(permission).Any(c => c.Value == Permissions.ReadPolicy));
        Assert.Equal(permission == Permission.Control, Permissions.Claims(permission).Any(c => c.Value == Permissions.ControlPolicy));
    }

    [Theory]
    [InlineData("bad name!", "0000000000000000000000000000000000000000000000000000000000000000", "read", "a key's name")]
    [InlineData("ops", "abc", "read", "Auth:ApiKeys:ops:Hash")]
    [InlineData("ops", null, "read", "Auth:ApiKeys:ops:Hash")]
    [InlineData("ops", "0000000000000000000000000000000000000000000000000000000000000000", "admin", "Auth:ApiKeys:ops:Permissions")]
    [InlineData("ops", "0000000000000000000000000000000000000000000000000000000000000000", "", "Auth:ApiKeys:ops:Permissions")]
    public void AConfiguredKey_WithAProblem_IsNamed(string name, string? hash, string permissions, string named)
    {
        var problem = Assert.Single(ApiKeyStore.Problems($"Auth:ApiKeys:{name}", name, hash, permissions));

        Assert.Contains(named, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ApiKeysFile_AddsItsKeys_ToThoseConfigured_AndANameTwiceIsRefused()
    {
        using var directory = new TempDirectory();
        var fileKey = ApiKeyStore.Generate();
        var file = directory.File("keys.json");
        File.WriteAllText(file, $$$"""{"scraper": {"hash": "{{{ApiKeyStore.Hash(fileKey)}}}", "permissions": "read"}}""");
        var configured = ApiKeyStore.Generate();
        var options = new AuthOptions
        {
            ApiKeysFile = file,
            ApiKeys = { ["ops"] = new ApiKeyOptions { Hash = ApiKeyStore.Hash(configured), Permissions = "control" } },
        };

        var store = ApiKeyStore.Load(options);
        options.ApiKeys["scraper"] = new ApiKeyOptions { Hash = ApiKeyStore.Hash(configured), Permissions = "read" };
        var twice = Assert.Throws<InvalidOperationException>(() => ApiKeyStore.Load(options));

        Assert.Equal("scraper", store.Find(fileKey)?.Name);
        Assert.Equal("ops", store.Find(configured)?.Name);
        Assert.Contains("'scraper' is named twice", twice.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ApiKeysFile_WithAnInvalidKey_IsRefusedNamingTheFile()
    {
        using var directory = new TempDirectory();
        var file = directory.File("keys.json");
        File.WriteAllText(file, """{"scraper": {"hash": "abc", "permissions": "read"}}""");

        var error = Assert.Throws<InvalidOperationException>(() => ApiKeyStore.Load(new AuthOptions { ApiKeysFile = file }));

        Assert.Contains($"Auth:ApiKeysFile '{file}': scraper:Hash", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Mode", "open", "Auth:Mode")]
    [InlineData("WritesPerMinute", "0", "Auth:WritesPerMinute")]
    [InlineData("Audience", "", "Auth:Jwt:Audience is required")]
    [InlineData("SigningKey", "short", "Auth:Jwt:SigningKey must be at least 32 bytes")]
    [InlineData("Authority", "http://idp.test", "Auth:Jwt:Authority must be an absolute https URL")]
    public void AuthOptions_Invalid_AreNamed(string option, string value, string named)
    {
        var options = new AuthOptions { Jwt = { SigningKey = "a signing key of at least thirty-two bytes", Audience = "hearth" } };
        switch (option)
        {
            case "Mode": options.Mode = value; break;
            case "WritesPerMinute": options.WritesPerMinute = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "Audience": options.Jwt.Audience = value; break;
            case "SigningKey": options.Jwt.SigningKey = value; break;
            default: options.Jwt.SigningKey = null; options.Jwt.Authority = value; break;
        }

        var result = new AuthOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains(named, StringComparison.Ordinal));
        Assert.False(new AuthOptionsValidator().Validate(null, new AuthOptions()).Failed, "the defaults are valid");
    }

    [Fact]
    public void AuthorityCaPath_IsForAnAuthority_AndMustHoldPemCertificates()
    {
        using var directory = new TempDirectory();
        var notPem = directory.File("not.pem");
        File.WriteAllText(notPem, "not a certificate");
        var missing = directory.File("none.pem");
        var withKey = new AuthOptions { Jwt = { SigningKey = "a signing key of at least thirty-two bytes", Audience = "hearth", AuthorityCaPath = notPem } };

        Assert.Contains("Auth:Jwt:AuthorityCaPath is for Auth:Jwt:Authority", Assert.Single(new AuthOptionsValidator().Validate(null, withKey).Failures!), StringComparison.Ordinal);
        // The file is read where the silo's settings are, once.
        Assert.StartsWith($"Auth:Jwt:AuthorityCaPath '{missing}' cannot be read", Assert.Single(AuthorityCaFailures(missing)), StringComparison.Ordinal);
        Assert.Equal($"Auth:Jwt:AuthorityCaPath '{notPem}' holds no PEM certificate.", Assert.Single(AuthorityCaFailures(notPem)));
    }

    private static IEnumerable<string> AuthorityCaFailures(string path) =>
        Assert.Throws<OptionsValidationException>(() => TestSettings.Read(new()
        {
            ["Auth:Jwt:Authority"] = "https://idp.test",
            ["Auth:Jwt:Audience"] = "hearth",
            ["Auth:Jwt:AuthorityCaPath"] = path,
        })).Failures;

    [Theory]
    [InlineData("permissions", "control", Permission.Control)]
    [InlineData("permissions", "read", Permission.Read)]
    [InlineData("scope", "openid read", Permission.Read)]
    [InlineData("scp", "control", Permission.Control)]
    [InlineData("roles", "control", Permission.None)]
    public void ATokensPermissions_ComeFromItsPermissionsClaimAndItsScope(string claim, string value, Permission expected)
    {
        var identity = new ClaimsIdentity([new Claim("sub", "x"), .. value.Split(' ').Select(v => new Claim(claim, v))]);

        Assert.Equal(expected, SecurityHostingExtensions.TokenPermissions(identity, JwtOptions.DefaultPermissionsClaim));
    }

    [Theory]
    [InlineData("/orleans/", "/orleans/")]
    [InlineData("/dashboard?x=1", "/dashboard?x=1")]
    [InlineData("//evil.test/", "/dashboard")]
    [InlineData("/\\evil.test", "/dashboard")]
    [InlineData("https://evil.test/", "/dashboard")]
    [InlineData("", "/dashboard")]
    public void ALogin_SendsTheBrowserBack_OnlyToThisSite(string returnUrl, string expected) =>
        Assert.Equal(expected, LoginEndpoints.LocalOrDefault(new DefaultHttpContext(), returnUrl));

    [Fact]
    public void NewApiKey_PrintsTheKeyOnce_AndItsHashForTheConfiguration()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = NewApiKeyCommand.Run(["ops", "--control"], output, error);
        var usage = NewApiKeyCommand.Run([], TextWriter.Null, error);

        Assert.Equal(0, code);
        var text = output.ToString();
        var key = text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Single(w => w.StartsWith(ApiKeyStore.Prefix, StringComparison.Ordinal));
        Assert.Contains($"Auth__ApiKeys__ops__Hash={ApiKeyStore.Hash(key)}", text, StringComparison.Ordinal);
        Assert.Contains("Auth__ApiKeys__ops__Permissions=control", text, StringComparison.Ordinal);
        Assert.Equal(1, text.Split(key).Length - 1);
        Assert.Equal(NewApiKeyCommand.UsageError, usage);
    }

    private static ApiKeyStore Store(params (string Name, string Key, string Permissions)[] keys) =>
        new(keys.Select(k => new ApiKeyEntry(k.Name, Convert.FromHexString(ApiKeyStore.Hash(k.Key)), Permissions.ParseAll(k.Permissions))));
}
