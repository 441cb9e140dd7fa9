using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Hearth.Silo.Security;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Xunit.Abstractions;

namespace Hearth.Tests.Api;

/// <summary>
/// Every HTTP endpoint of a silo, as callers with no credentials, a read key, a control key, JWT bearer tokens and a
/// browser's login cookie see it; the write rate limit and the body size limit.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class SecurityTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private const string Setting = """{"temperature": 21, "upDelta": 0.5, "downDelta": 0.5}""";
    private const string SigningKey = "a test signing key of at least thirty-two bytes";
    private const string Audience = "hearth-api";
    private const string Issuer = "https://idp.test";

    /// <summary>Every GET endpoint but health, with the Orleans Dashboard on: its pages and its API (grain state, trace).</summary>
    private static readonly string[] ReadPaths =
    [
        "/api/thermostats/never-seen", "/api/cluster", "/api/cluster/history", "/dashboard", "/dashboard/app.js", "/",
        "/metrics", "/orleans/", "/orleans/index.min.js", "/orleans/DashboardCounters", "/orleans/ClusterStats",
        "/orleans/GrainState?grainId=x&grainType=y", "/orleans/Trace", "/orleans/version",
    ];

    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task WithoutCredentials_EveryEndpointButHealthIs401_ABrowserIsSentToLogin_AnUnknownKeyIs401()
    {
        await using var silo = await StartAsync("anonymous");
        using var anonymous = TestApiKeys.Anonymous(silo.HttpAddress);
        using var unknown = TestApiKeys.Client(silo.HttpAddress, ApiKeyStore.Generate());
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = silo.HttpAddress };
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml");

        foreach (var path in ReadPaths)
        {
            var answer = await anonymous.GetAsync(path);
            Assert.True(answer.StatusCode == HttpStatusCode.Unauthorized, $"GET {path} without credentials: {(int)answer.StatusCode}");
            Assert.Contains("ApiKey", answer.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, (await unknown.GetAsync(path)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await PutAsync(anonymous)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PutAsync(unknown)).StatusCode);
        foreach (var page in new[] { "/dashboard", "/orleans/", "/" })
        {
            var answer = await browser.GetAsync(page);
            Assert.True(answer.StatusCode == HttpStatusCode.Redirect, $"GET {page} from a browser: {(int)answer.StatusCode}");
            Assert.Equal($"/login?ReturnUrl={Uri.EscapeDataString(page)}", answer.Headers.Location?.OriginalString);
        }

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/login")).StatusCode);
        Assert.Contains(silo.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("unknown API key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReadKey_ReadsEveryEndpoint_AndIs403OnTheWrite_AControlKeyWrites_TheTracePageIsOff()
    {
        await using var silo = await StartAsync("keys");
        using var read = TestApiKeys.Client(silo.HttpAddress, TestApiKeys.Read);
        using var control = TestApiKeys.Client(silo.HttpAddress, TestApiKeys.Control);
        // Not redirected: HttpClient leaves the Authorization header out of a redirected request (/ to /dashboard).
        using var header = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = silo.HttpAddress };
        header.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", TestApiKeys.Read);

        foreach (var path in ReadPaths.Where(p => p != "/orleans/Trace"))
        {
            var answer = await read.GetAsync(path);
            Assert.True(answer.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                $"GET {path} with a read key: {(int)answer.StatusCode}");
            Assert.True((await header.GetAsync(path)).StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                $"GET {path} with Authorization: ApiKey");
        }

        Assert.Equal(HttpStatusCode.OK, (await read.GetAsync("/api/cluster")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await read.GetAsync("/api/thermostats/never-seen")).StatusCode);
        // The Orleans Dashboard's log streaming is off (Orleans:DashboardTrace), whoever asks.
        var trace = await control.GetAsync("/orleans/Trace");
        Assert.Equal(HttpStatusCode.Forbidden, trace.StatusCode);
        Assert.Contains("Trace Endpoint Disabled", await trace.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(read)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(header)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await PutAsync(control)).StatusCode);
    }

    [Fact]
    public async Task JwtBearerTokens_ValidOnesWork_WithTheirPermission_ForgedExpiredAndWrongAudienceAre401()
    {
        await using var silo = await StartAsync("jwt", new()
        {
            ["Auth:Jwt:SigningKey"] = SigningKey,
            ["Auth:Jwt:Audience"] = Audience,
            ["Auth:Jwt:Issuer"] = Issuer,
        });
        var now = DateTime.UtcNow;

        var readToken = Token(now, new() { ["permissions"] = "read" });
        var controlToken = Token(now, new() { ["permissions"] = new[] { "control" } });
        var scopeToken = Token(now, new() { ["scope"] = "openid control" });
        var noPermission = Token(now, []);
        var forged = Token(now, new() { ["permissions"] = "control" }, key: "another signing key of at least thirty-two bytes");
        var expired = Token(now.AddMinutes(-30), new() { ["permissions"] = "control" });
        var wrongAudience = Token(now, new() { ["permissions"] = "control" }, audience: "another-api");
        var wrongIssuer = Token(now, new() { ["permissions"] = "control" }, issuer: "https://evil.test");

        Assert.Equal(HttpStatusCode.OK, await GetAsync(silo, readToken));
        Assert.Equal(HttpStatusCode.Forbidden, await PutAsync(silo, readToken));
        Assert.Equal(HttpStatusCode.Accepted, await PutAsync(silo, controlToken));
        Assert.Equal(HttpStatusCode.Accepted, await PutAsync(silo, scopeToken));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(silo, noPermission));
        foreach (var (what, token) in new[] { ("forged", forged), ("expired", expired), ("wrong audience", wrongAudience), ("wrong issuer", wrongIssuer), ("garbage", "not.a.token") })
        {
            Assert.True(await GetAsync(silo, token) == HttpStatusCode.Unauthorized, $"a {what} token reads");
            Assert.True(await PutAsync(silo, token) == HttpStatusCode.Unauthorized, $"a {what} token writes");
        }

        // API keys still work beside tokens.
        using var read = silo.Http(TestApiKeys.Read);
        Assert.Equal(HttpStatusCode.OK, (await read.GetAsync("/api/cluster")).StatusCode);
    }

    [Fact]
    public async Task Writes_BeyondTheCallersRate_Are429WithRetryAfter_OtherCallersGoOn()
    {
        var other = ApiKeyStore.Generate();
        await using var silo = await StartAsync("rate", new()
        {
            ["Auth:WritesPerMinute"] = "2",
            ["Auth:ApiKeys:other:Hash"] = ApiKeyStore.Hash(other),
            ["Auth:ApiKeys:other:Permissions"] = "control",
        });
        using var control = silo.Http();
        using var second = silo.Http(other);

        Assert.Equal(HttpStatusCode.Accepted, (await PutAsync(control)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await PutAsync(control)).StatusCode);
        var limited = await PutAsync(control);
        var reads = await control.GetAsync("/api/cluster");
        var others = await PutAsync(second);

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter is { } after && after > TimeSpan.Zero && after <= TimeSpan.FromMinutes(1), $"Retry-After: {limited.Headers.RetryAfter}");
        Assert.Equal(HttpStatusCode.OK, reads.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, others.StatusCode);
    }

    [Fact]
    public async Task ABodyLargerThanTheLimit_Is413_AndNothingIsPublished()
    {
        await using var silo = await StartAsync("body", new() { ["Auth:MaxRequestBodyBytes"] = "1024" });
        using var control = silo.Http();
        var padded = Setting.Replace(" ", new string(' ', 400), StringComparison.Ordinal);

        var large = await control.PutAsync("/api/thermostats/s-1/setting", new StringContent(padded, Encoding.UTF8, "application/json"));
        var small = await PutAsync(control);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, small.StatusCode);
        var accepted = await small.Content.ReadFromJsonAsync<JsonElement>();
        // The small one is the first the settings topic holds.
        Assert.Equal(0, accepted.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task AnonymousMetrics_OpensMetricsAlone()
    {
        await using var silo = await StartAsync("metrics", new() { ["Auth:AnonymousMetrics"] = "true" });
        using var anonymous = TestApiKeys.Anonymous(silo.HttpAddress);

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/cluster")).StatusCode);
    }

    [Fact]
    public async Task TheLoginForm_ExchangesAKeyForAStrictHttpOnlyCookie_SlowsAndLogsFailures_AndLogoutEndsIt()
    {
        await using var silo = await StartAsync("login", new() { ["Auth:FailedLoginDelay"] = "00:00:00.300" });
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = silo.HttpAddress };

        var clock = Stopwatch.StartNew();
        var failed = await LoginAsync(browser, "hearth_guess", "/dashboard");
        var failedAfter = clock.Elapsed;
        var offSite = await LoginAsync(browser, TestApiKeys.Read, "//evil.test/");
        var loggedIn = await LoginAsync(browser, TestApiKeys.Read, "/orleans/");
        var cluster = await browser.GetAsync("/api/cluster");
        var write = await browser.PutAsync("/api/thermostats/s-1/setting", new StringContent(Setting, Encoding.UTF8, "application/json"));
        var loggedOut = await browser.PostAsync("/logout", null);
        var afterLogout = await browser.GetAsync("/api/cluster");

        Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        Assert.Contains("That key is not valid", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(failedAfter >= TimeSpan.FromMilliseconds(300), $"a failed login was answered after {failedAfter}");
        var logged = Assert.Single(silo.Logs.Entries, e => e.Category == typeof(LoginEndpoints).FullName && e.Level == LogLevel.Warning);
        Assert.Contains("127.0.0.1", logged.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hearth_guess", logged.Message, StringComparison.Ordinal);

        Assert.Equal("/dashboard", offSite.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, loggedIn.StatusCode);
        Assert.Equal("/orleans/", loggedIn.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(loggedIn.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith($"{SecurityHostingExtensions.CookieName}=", setCookie, StringComparison.Ordinal);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie.Replace("samesite", "", StringComparison.OrdinalIgnoreCase), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, cluster.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, loggedOut.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, afterLogout.StatusCode);
    }

    [Fact]
    public async Task TokensOfAnIdentityProvider_WhoseKeysTheAuthorityServesOverHttpsFromAPrivateCa_AreAccepted_ForgeriesAreNot()
    {
        await using var provider = await TestIdentityProvider.StartAsync();
        var settings = new Dictionary<string, string?> { ["Auth:Jwt:Authority"] = provider.Issuer, ["Auth:Jwt:Audience"] = Audience };

        (HttpStatusCode Read, HttpStatusCode Write, HttpStatusCode Forged) trusted, untrusted;
        await using (var silo = await StartAsync("idp", new(settings) { ["Auth:Jwt:AuthorityCaPath"] = provider.CaPath }))
        {
            trusted = (await GetAsync(silo, provider.Token(Audience, "read")), await PutAsync(silo, provider.Token(Audience, "read")),
                await GetAsync(silo, provider.Token(Audience, "read", forged: true)));
        }

        // Without the provider's CA the silo cannot fetch its keys over HTTPS, so it accepts none of its tokens.
        await using (var silo = await StartAsync("idp-untrusted", settings))
        {
            untrusted = (await GetAsync(silo, provider.Token(Audience, "read")), await PutAsync(silo, provider.Token(Audience, "control")), HttpStatusCode.Unauthorized);
        }

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Unauthorized), trusted);
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), untrusted);
    }

    [Fact]
    public async Task ALoginCookie_HoldsOnEverySiloSharingTheCookieKeys_EndsWithItsKey_AndCarriesTheKeysPermissionsAsTheyAreNow()
    {
        // Silos behind one balancer share the cookie keys (Auth:CookieKeysDirectory); each may be configured anew.
        var shared = new Dictionary<string, string?> { ["Auth:CookieKeysDirectory"] = _directory.File("cookie-keys") };
        string cookie;
        await using (var first = await StartAsync("cookie-first", shared))
        {
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = first.HttpAddress };
            var loggedIn = await LoginAsync(browser, TestApiKeys.Read, "/dashboard");
            Assert.Equal(HttpStatusCode.Redirect, loggedIn.StatusCode);
            cookie = Assert.Single(loggedIn.Headers.GetValues("Set-Cookie")).Split(';')[0];
        }

        var sameKeys = await WithCookieAsync("cookie-same", shared, cookie);
        // The read key replaced: a new key under the same name, as an operator does when one leaks.
        var replaced = await WithCookieAsync("cookie-replaced", new(shared) { [$"Auth:ApiKeys:{TestApiKeys.ReadName}:Hash"] = ApiKeyStore.Hash(ApiKeyStore.Generate()) }, cookie);
        var raised = await WithCookieAsync("cookie-raised", new(shared) { [$"Auth:ApiKeys:{TestApiKeys.ReadName}:Permissions"] = "control" }, cookie);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Forbidden), sameKeys);
        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized), replaced);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.Accepted), raised);
    }

    [Fact]
    public async Task OverHttps_ConfiguredAsKestrelDoes_TheLoginCookieIsSecure()
    {
        // A certificate for 127.0.0.1, given to Kestrel by its standard settings.
        using var certificates = new TestCertificates();
        var certificate = certificates.Loopback().Pkcs12("test");

        await using var silo = await StartAsync("https", new()
        {
            ["Urls"] = $"https://127.0.0.1:{TestPorts.Next()}",
            ["Kestrel:Certificates:Default:Path"] = certificate,
            ["Kestrel:Certificates:Default:Password"] = "test",
        });
        using var handler = new HttpClientHandler
        {
            AllowAutoRedirect = false,
            // Only this test's own certificate is ever presented here.
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Subject == "CN=127.0.0.1",
        };
        using var browser = new HttpClient(handler) { BaseAddress = silo.HttpAddress };

        var loggedIn = await LoginAsync(browser, TestApiKeys.Read, "/dashboard");

        Assert.Equal("https", silo.HttpAddress.Scheme);
        Assert.Equal(HttpStatusCode.Redirect, loggedIn.StatusCode);
        var setCookie = Assert.Single(loggedIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("; secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AuthModeNone_OpensEveryEndpoint_AndSaysSoAtWarning()
    {
        await using var silo = await StartAsync("none", new() { ["Auth:Mode"] = "none" });
        using var anonymous = TestApiKeys.Anonymous(silo.HttpAddress);

        var cluster = await anonymous.GetAsync("/api/cluster");
        Assert.Equal(HttpStatusCode.OK, cluster.StatusCode);
        // The fleet dashboard shows no logout: there is no login.
        Assert.False((await cluster.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("login").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.PostAsync("/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await PutAsync(anonymous)).StatusCode);
        Assert.Contains(silo.Logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Auth:Mode is none", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASettingsAuthor_IsInItsKafkaHeader_InTheThermostatsStatus_AndInTheAuditLog()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await StartAsync("author", topics: topics);
        using var control = silo.Http();

        Assert.Equal(HttpStatusCode.Accepted, (await PutAsync(control)).StatusCode);
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Settings), TimeSpan.FromSeconds(60), "the API's setting");
        var viaApi = await control.GetFromJsonAsync<JsonElement>("/api/thermostats/s-1");
        // A setting published to Kafka directly has no author.
        await fleet.PublishSettingsAsync([new Hearth.Grains.Interfaces.ThermostatSetting("s-1", 19, 0.5, 0.5)], silo, TimeSpan.FromSeconds(60));
        var viaKafka = await control.GetFromJsonAsync<JsonElement>("/api/thermostats/s-1");

        var message = TopicReader.ReadAll(kafka.BootstrapServers, topics.Settings, TimeSpan.FromSeconds(30))[0];
        Assert.True(message.Message.Headers.TryGetLastBytes("hearth-setting-by", out var author), "the setting has no hearth-setting-by header");
        Assert.Equal(TestApiKeys.ControlName, Encoding.UTF8.GetString(author));
        Assert.DoesNotContain("setBy", Encoding.UTF8.GetString(message.Message.Value!), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(TestApiKeys.ControlName, viaApi.GetProperty("lastSettingBy").GetString());
        Assert.Equal(21, viaApi.GetProperty("setpoint").GetDouble());
        Assert.Equal(19, viaKafka.GetProperty("setpoint").GetDouble());
        Assert.Equal(JsonValueKind.Null, viaKafka.GetProperty("lastSettingBy").ValueKind);
        var audit = Assert.Single(silo.Logs.Entries, e => e.Category == "Hearth.Silo.Audit");
        Assert.Equal($"Setting by {TestApiKeys.ControlName}: thermostat s-1 to 21 (-0.5/+0.5), published to {topics.Settings}[0]@0, from 127.0.0.1", audit.Message);
    }

    public void Dispose() => _directory.Dispose();

    private async Task<TestSilo> StartAsync(string name, Dictionary<string, string?>? overrides = null, TestTopics? topics = null)
    {
        topics ??= kafka.CreateTopics(partitions: 1);
        var settings = new Dictionary<string, string?> { ["Orleans:Dashboard"] = "true" };
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }

        return await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File($"{name}.db"), output, settings);
    }

    private static Task<HttpResponseMessage> PutAsync(HttpClient http) =>
        http.PutAsync("/api/thermostats/s-1/setting", new StringContent(Setting, Encoding.UTF8, "application/json"));

    private static async Task<HttpStatusCode> GetAsync(TestSilo silo, string token)
    {
        using var http = TestApiKeys.Anonymous(silo.HttpAddress);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (await http.GetAsync("/api/cluster")).StatusCode;
    }

    private static async Task<HttpStatusCode> PutAsync(TestSilo silo, string token)
    {
        using var http = TestApiKeys.Anonymous(silo.HttpAddress);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (await PutAsync(http)).StatusCode;
    }

    /// <summary>What a silo started with <paramref name="settings"/> answers a read and a write carrying <paramref name="cookie"/>.</summary>
    private async Task<(HttpStatusCode Read, HttpStatusCode Write)> WithCookieAsync(string name, Dictionary<string, string?> settings, string cookie)
    {
        await using var silo = await StartAsync(name, settings);
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = silo.HttpAddress };
        using var read = new HttpRequestMessage(HttpMethod.Get, "/api/cluster") { Headers = { { "Cookie", cookie } } };
        using var write = new HttpRequestMessage(HttpMethod.Put, "/api/thermostats/s-1/setting")
        {
            Headers = { { "Cookie", cookie } },
            Content = new StringContent(Setting, Encoding.UTF8, "application/json"),
        };
        return ((await browser.SendAsync(read)).StatusCode, (await browser.SendAsync(write)).StatusCode);
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient browser, string key, string returnUrl) =>
        browser.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["key"] = key, ["returnUrl"] = returnUrl }));

    /// <summary>An HS256 token issued at <paramref name="issued"/> for ten minutes, with <paramref name="claims"/>.</summary>
    private static string Token(DateTime issued, Dictionary<string, object> claims, string key = SigningKey, string audience = Audience, string issuer = Issuer) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", "operator-7")]),
            Claims = claims,
            Audience = audience,
            Issuer = issuer,
            IssuedAt = issued,
            NotBefore = issued,
            Expires = issued.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
}
