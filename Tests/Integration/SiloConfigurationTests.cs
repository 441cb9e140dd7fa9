using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hearth.Grains;
using Hearth.Silo.EmbeddedKafka;
using Hearth.Silo.Hosting;
using Hearth.Silo.Security;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Integration;

/// <summary>How the silo treats its configuration: bad values fail at start naming the key; addresses come from the standard settings.</summary>
[Collection(KafkaCollection.Name)]
public sealed class SiloConfigurationTests(EmbeddedKafkaFixture kafka) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _directory = new();

    [Theory]
    [InlineData("Grains:IdleTimeout", "00:00:00", "Grains:IdleTimeout")]
    [InlineData("Grains:IdleTimeout", "soon", "Grains:IdleTimeout")]
    [InlineData("Storage:Provider", "oracle", "Storage:Provider")]
    [InlineData("Kafka:GroupId", "", "Kafka:GroupId")]
    // The Kafka stream provider's own options, set through configuration, are named as the keys.
    [InlineData("Kafka:MaxBatchSize", "0", "Kafka:MaxBatchSize must be between 1 and 100000")]
    [InlineData("Kafka:CommitIntervalMs", "1", "Kafka:CommitIntervalMs must be between 10 and 3600000")]
    [InlineData("Kafka:MetadataTimeout", "-00:00:01", "Kafka:MetadataTimeout must be positive")]
    [InlineData("Kafka:Topics:0", "elsewhere", "Kafka:Topics cannot be set")]
    [InlineData("Topics:Commands", "has spaces", "Topics:Commands")]
    [InlineData("Orleans:SiloPort", "-1", "Orleans:SiloPort")]
    [InlineData("Auth:Mode", "open", "Auth:Mode must be 'keys' or 'none'")]
    [InlineData("Auth:WritesPerMinute", "0", "Auth:WritesPerMinute must be between 1 and 1000000")]
    [InlineData("Auth:MaxRequestBodyBytes", "10", "Auth:MaxRequestBodyBytes")]
    [InlineData("Auth:ApiKeys:test-control:Hash", "not-a-hash", "Auth:ApiKeys:test-control:Hash must be the key's SHA-256")]
    [InlineData("Auth:ApiKeys:test-read:Permissions", "admin", "Auth:ApiKeys:test-read:Permissions must be 'read' or 'control'")]
    [InlineData("Auth:Jwt:SigningKey", "short", "Auth:Jwt:Audience is required")]
    [InlineData("Auth:ApiKeysFile", "/no/such/file.json", "Auth:ApiKeysFile '/no/such/file.json' cannot be read")]
    public async Task InvalidConfiguration_FailsAtStart_NamingTheKey(string key, string value, string named)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(new() { [key] = value }));

        Assert.True(error is OptionsValidationException or InvalidOperationException, error.ToString());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownSettingsTopic_FailsAtStart_NamingTheKey_AndIsNotCreated()
    {
        var topics = kafka.CreateTopics(2);
        var unknown = "no-such-topic-" + Guid.NewGuid().ToString("N");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(new() { ["Topics:Settings"] = unknown, ["Topics:Readings"] = topics.Readings, ["Topics:Commands"] = topics.Commands, ["Topics:DeadLetter"] = topics.DeadLetter }));

        Assert.Contains("Topics:Settings", error.Message, StringComparison.Ordinal);
        Assert.Contains(unknown, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Topics:Readings", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SaslTowardsABrokerWithoutIt_FailsAtStart_WithTheClientsReason_AndTheKeysToCheck()
    {
        // The embedded broker (librdkafka's mock cluster) speaks no SASL, so no test here logs in; what can be shown is
        // that the silo's clients get the security properties, and that the start fails with librdkafka's reason and the
        // keys to check rather than a bare timeout. The reason comes at once; the timeout only bounds the wait for it.
        var topics = kafka.CreateTopics(2);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(new()
        {
            ["Topics:Readings"] = topics.Readings, ["Topics:Settings"] = topics.Settings, ["Topics:Commands"] = topics.Commands, ["Topics:DeadLetter"] = topics.DeadLetter,
            ["Kafka:Properties:security.protocol"] = "SASL_PLAINTEXT",
            ["Kafka:Properties:sasl.mechanism"] = "SCRAM-SHA-256",
            ["Kafka:Properties:sasl.username"] = "hearth",
            ["Kafka:Properties:sasl.password"] = "not-the-password",
            ["Kafka:MetadataTimeout"] = "00:00:10",
        }));

        Assert.Contains($"Kafka at {kafka.BootstrapServers} did not answer", error.Message, StringComparison.Ordinal);
        Assert.Contains("Kafka:Properties:security.protocol", error.Message, StringComparison.Ordinal);
        // librdkafka's own reason, from the client's error callback: the mock's ApiVersions answer lists no SaslHandshake.
        Assert.Contains("SASL Handshake not supported by broker (required by mechanism SCRAM-SHA-256)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APortInUse_StopsTheSiloBeforeItStarts_NamingThePort()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var http = Assert.Throws<PortInUseException>(() => Build(new() { ["Urls"] = $"http://127.0.0.1:{port}" }));
        var orleans = Assert.Throws<PortInUseException>(() => Build(new() { ["Orleans:SiloPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) }));

        Assert.Contains($"HTTP port {port}", http.Message, StringComparison.Ordinal);
        Assert.Contains($"Orleans:SiloPort {port}", orleans.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortZero_BecomesFreePorts_OutsideTheEphemeralRange()
    {
        // Outside the range the kernel gives new outgoing connections, so none can take a chosen port before the silo listens.
        var ephemeralLow = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        await using var app = Build(new() { ["Urls"] = "http://127.0.0.1:0", ["Orleans:SiloPort"] = "0", ["Orleans:GatewayPort"] = "0" });
        var endpoints = app.Services.GetRequiredService<SiloEndpoints>();

        int[] ports = [new Uri(endpoints.Urls[0]).Port, endpoints.SiloPort, endpoints.GatewayPort];
        Assert.All(ports, p => Assert.InRange(p, 1024, ephemeralLow - 1));
        Assert.Equal(3, ports.Distinct().Count());
    }

    [Fact]
    public async Task TheSiloExecutable_OnAPortInUse_ExitsWithOneLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (exitCode, _, errors) = await RunSiloAsync(
            [$"--Kafka:BootstrapServers={kafka.BootstrapServers}", "--Orleans:SiloPort=0", "--Orleans:GatewayPort=0"],
            new() { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}", ["Storage__ConnectionString"] = $"Data Source={_directory.File("port.db")}" });

        Assert.Equal(69, exitCode);
        var line = Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"HTTP port {port}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNoWayToAuthenticate_OnANonLoopbackAddress_TheSiloExits78_NamingTheKeyToSet()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        using var errors = new StringWriter();
        var settings = TestSettings.Kafka(kafka.BootstrapServers, topics);
        settings["Urls"] = "http://0.0.0.0:0";

        var exitCode = await SiloExecutable.RunAsync([], errors, Configure(settings, withKeys: false));

        Assert.Equal(SiloExecutable.BadConfiguration, exitCode);
        var line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Silo could not start: No way to authenticate", line, StringComparison.Ordinal);
        Assert.Contains("Auth:ApiKeys:<name>:Hash", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSiloProcess_ListeningOnEveryAddress_WithNoWayToAuthenticate_Exits78_NamingTheKey()
    {
        var (exitCode, _, errors) = await RunSiloAsync(
            [$"--Kafka:BootstrapServers={kafka.BootstrapServers}", "--Orleans:SiloPort=0", "--Orleans:GatewayPort=0"],
            new() { ["ASPNETCORE_URLS"] = "http://0.0.0.0:0", ["Storage__ConnectionString"] = $"Data Source={_directory.File("refused.db")}" });

        Assert.Equal(SiloExecutable.BadConfiguration, exitCode);
        var line = Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("No way to authenticate", line, StringComparison.Ordinal);
        Assert.Contains("Auth:ApiKeys:<name>:Hash", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSiloVerb_NewApiKey_PrintsAKeyAndTheHashASiloAccepts()
    {
        var (exitCode, printed, _) = await RunSiloAsync([NewApiKeyCommand.Verb, "ops", "--control"]);

        Assert.Equal(0, exitCode);
        var key = printed.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Single(w => w.StartsWith(ApiKeyStore.Prefix, StringComparison.Ordinal));
        Assert.Contains($"--Auth:ApiKeys:ops:Hash={ApiKeyStore.Hash(key)} --Auth:ApiKeys:ops:Permissions=control", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNoWayToAuthenticate_OnLoopback_TheSiloMakesAControlKey_WritesItToAFileOnlyItsOwnerReads_AndLogsWhere()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        var file = _directory.File("generated-key");
        var settings = TestSettings.Kafka(kafka.BootstrapServers, topics);
        settings["Auth:GeneratedKeyFile"] = file;
        var logs = new LogRecorder();
        await using var app = SiloApplication.Build([], Configure(settings, services => services.AddSingleton<ILoggerProvider>(logs), withKeys: false));

        await SiloApplication.StartAsync(app);
        var key = (await File.ReadAllTextAsync(file)).Trim();
        var address = new Uri(app.Services.GetRequiredService<SiloEndpoints>().HttpAddress);
        using var control = TestApiKeys.Client(address, key);
        using var anonymous = TestApiKeys.Anonymous(address);
        var withKey = await control.PutAsync("/api/thermostats/g-1/setting",
            new StringContent("{\"temperature\": 20, \"upDelta\": 1, \"downDelta\": 1}", System.Text.Encoding.UTF8, "application/json"));
        var without = await anonymous.GetAsync("/api/cluster");
        await app.StopAsync();

        Assert.StartsWith(ApiKeyStore.Prefix, key, StringComparison.Ordinal);
        Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(file) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), "only its owner reads the file");
        Assert.Equal(HttpStatusCode.Accepted, withKey.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        var logged = Assert.Single(logs.Entries, e => e.Message.Contains("made a control key", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Contains(file, logged.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, string.Join("\n", logs.Entries.Select(e => e.Message)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSiloExecutable_OnInvalidConfiguration_Exits78_WithOneLineNamingTheKey()
    {
        using var errors = new StringWriter();

        var exitCode = await SiloExecutable.RunAsync(["--Grains:IdleTimeout=soon"], errors, Configure([]));

        Assert.Equal(SiloExecutable.BadConfiguration, exitCode);
        var line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Silo could not start: ", line, StringComparison.Ordinal);
        Assert.Contains("Grains:IdleTimeout", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSiloExecutable_OnAnHttpPortTakenAfterTheCheck_Exits69_WithOneLine()
    {
        // Kestrel's bind failure is recognised by its exception, not its text: taken once the silo is built (the
        // check passed), before Orleans starts, so that the HTTP server's bind fails after the silo started.
        var topics = kafka.CreateTopics(partitions: 1);
        using var errors = new StringWriter();

        var exitCode = await SiloExecutable.RunAsync([], errors, Configure(TestSettings.Kafka(kafka.BootstrapServers, topics), services =>
            services.AddHostedService<HttpPortTaker>()));

        Assert.Equal(SiloExecutable.PortInUse, exitCode);
        var line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Silo could not start: ", line, StringComparison.Ordinal);
        Assert.Contains("address already in use", line, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheSiloExecutable_FailingAfterItStarted_Exits70_SayingItStopped()
    {
        // An InvalidOperationException, which at start would be a configuration failure (78).
        var topics = kafka.CreateTopics(partitions: 1);
        using var errors = new StringWriter();

        var exitCode = await SiloExecutable.RunAsync([], errors, Configure(TestSettings.Kafka(kafka.BootstrapServers, topics), services =>
            services.AddHostedService<FailsToStopOnceStarted>()));

        Assert.Equal(SiloExecutable.FailedAfterStart, exitCode);
        var line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"Silo stopped: {FailsToStopOnceStarted.Reason}", line);
    }

    [Theory]
    [InlineData("urls")]
    [InlineData("http_ports")]
    public async Task TheStandardAspNetCoreAddressSettings_ChooseWhereTheSiloListens(string setting)
    {
        var topics = kafka.CreateTopics(1);
        var port = TestPorts.Next();
        // ASPNETCORE_URLS and --urls arrive as "urls", ASPNETCORE_HTTP_PORTS as "http_ports".
        var overrides = setting == "urls"
            ? new Dictionary<string, string?> { ["Urls"] = $"http://127.0.0.1:{port}" }
            : new Dictionary<string, string?> { ["Urls"] = null, ["http_ports"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File($"{setting}.db"), null, overrides);

        using var http = TestApiKeys.Client(new Uri($"http://127.0.0.1:{port}"));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(port, silo.HttpAddress.Port);
    }

    [Fact]
    public async Task NoBootstrapServers_StartsTheEmbeddedBroker_AndWritesItsAddressTo_EmbeddedKafkaBootstrapFile()
    {
        var file = _directory.File("kafka-bootstrap");
        await using var app = Build(new() { ["Kafka:BootstrapServers"] = "", ["EmbeddedKafka:BootstrapFile"] = file });
        var embedded = app.Services.GetRequiredService<EmbeddedKafkaCluster>();
        var provider = app.Services.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(ThermostatStreams.Provider);

        await SiloApplication.StartAsync(app);
        var written = await File.ReadAllTextAsync(file);
        await app.StopAsync();

        Assert.Equal(embedded.BootstrapServers, written.TrimEnd());
        Assert.False(File.Exists(file), "The file is deleted when the silo stops.");
        // The broker keeps nothing across restarts: its offsets are told apart from an earlier one's.
        Assert.Equal((embedded.BootstrapServers, embedded.Incarnation), (provider.BootstrapServers, provider.LogIncarnation));
    }

    /// <summary>Runs the silo executable with <paramref name="arguments"/> until it exits: its exit code, standard output and standard error.</summary>
    private static async Task<(int ExitCode, string Output, string Errors)> RunSiloAsync(
        IReadOnlyList<string> arguments, Dictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(SiloProcess.SiloAssembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        // Both streams at once: a process blocked on a full pipe nobody reads never exits.
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeout);
        return (process.ExitCode, await output, await errors);
    }

    public void Dispose() => _directory.Dispose();

    private Microsoft.AspNetCore.Builder.WebApplication Build(Dictionary<string, string?> settings) =>
        SiloApplication.Build([], Configure(settings));

    /// <summary>The silo of a test: <paramref name="settings"/> over its own ports and database; no log.</summary>
    private Action<WebApplicationBuilder> Configure(Dictionary<string, string?> settings, Action<IServiceCollection>? services = null, bool withKeys = true)
    {
        settings.TryAdd("Kafka:BootstrapServers", kafka.BootstrapServers);
        foreach (var (key, value) in TestPorts.Silo())
        {
            settings.TryAdd(key, value);
        }

        settings.TryAdd("Storage:ConnectionString", $"Data Source={_directory.File("config.db")}");
        foreach (var (key, value) in withKeys ? TestApiKeys.Settings : new Dictionary<string, string?>())
        {
            settings.TryAdd(key, value);
        }

        return b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            b.Logging.ClearProviders();
            services?.Invoke(b.Services);
        };
    }

    private async Task StartAsync(Dictionary<string, string?> settings)
    {
        await using var app = Build(settings);
        await SiloApplication.StartAsync(app);
        await app.StopAsync();
    }

    /// <summary>Listens on the silo's HTTP port from its start (before every other part of the silo's) to its disposal.</summary>
    private sealed class HttpPortTaker(SiloEndpoints endpoints) : IHostedService, IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, new Uri(endpoints.Urls[0]).Port);

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _listener.Start();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Stops the silo once it has started, and fails to stop (it stops last, having started first).</summary>
    private sealed class FailsToStopOnceStarted(IHostApplicationLifetime lifetime) : IHostedService
    {
        public const string Reason = "the test's service failed to stop";

        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(lifetime.StopApplication);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => throw new InvalidOperationException(Reason);
    }
}
