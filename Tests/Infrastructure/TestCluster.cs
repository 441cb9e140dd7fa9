using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Hearth.Testing;
using Xunit.Abstractions;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// Several silos, each a process of its own, against one embedded Kafka and one PostgreSQL database that holds
/// both the Orleans membership table and the grain states: add a silo, stop one (SIGTERM), kill one (SIGKILL),
/// freeze one (SIGSTOP). What only real processes show; in-process clusters are Orleans' InProcessTestCluster. The
/// silos share the machine as local-cluster.sh's do, with their runtime settings (<see cref="SiloProcess.SharingAMachine"/>).
/// </summary>
public sealed class TestCluster : IStoresInput, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly EmbeddedKafkaFixture _kafka;
    private readonly ITestOutputHelper? _output;
    private readonly Dictionary<string, string?> _settings;
    private readonly Dictionary<string, SiloProcess> _silos = new(StringComparer.Ordinal);
    private readonly KafkaCheckpoints _checkpoints;

    private TestCluster(EmbeddedKafkaFixture kafka, TestTopics topics, string database, ITestOutputHelper? output,
        IDictionary<string, string?>? overrides)
    {
        _kafka = kafka;
        Topics = topics;
        DatabaseConnectionString = database;
        _output = output;
        _checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);
        _settings = TestSettings.Kafka(kafka.BootstrapServers, topics).With(new Dictionary<string, string?>
        {
            ["Orleans:AdvertisedAddress"] = "127.0.0.1",
            ["Orleans:ClusterId"] = "cluster-" + topics.GroupId,
            // Failure detection for tests: a silent silo is declared dead within seconds. A frozen process keeps its
            // connections open, which must not count as alive.
            ["Orleans:Membership:ProbeTimeout"] = "00:00:02",
            ["Orleans:Membership:NumMissedProbesLimit"] = "2",
            ["Orleans:Membership:TableRefreshTimeout"] = "00:00:02",
            ["Orleans:Membership:IAmAliveTablePublishTimeout"] = "00:00:02",
            ["Orleans:Membership:EnableConnectionLivenessCheck"] = "false",
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = database,
        }).With(TestApiKeys.Settings).With(overrides);
    }

    public TestTopics Topics { get; }

    public string DatabaseConnectionString { get; }

    public IReadOnlyDictionary<string, SiloProcess> Silos => _silos;

    /// <summary>A cluster with a new database of its own; no silo yet.</summary>
    public static async Task<TestCluster> CreateAsync(EmbeddedKafkaFixture kafka, TestTopics topics, ITestOutputHelper? output,
        IDictionary<string, string?>? overrides = null)
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        return new TestCluster(kafka, topics, database, output, overrides);
    }

    /// <summary>Starts a silo and waits until it is active (it has joined the Orleans cluster and serves HTTP).</summary>
    public async Task<SiloProcess> StartSiloAsync(string name, IDictionary<string, string?>? overrides = null)
    {
        var silo = LaunchSilo(name, overrides);
        await silo.WaitUntilActiveAsync(StartTimeout);
        await silo.WaitForLineAsync(l => l.Contains("Now listening on:", StringComparison.Ordinal), StartTimeout, "listening");
        return silo;
    }

    /// <summary>Starts a silo process with the cluster's settings and <paramref name="overrides"/>, without waiting for anything.</summary>
    public SiloProcess LaunchSilo(string name, IDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(_settings) { ["Silo:Name"] = name }.With(TestPorts.Silo()).With(overrides);
        var silo = SiloProcess.Start(name, settings, _output.AsLog(), SiloProcess.SharingAMachine);
        _silos[name] = silo;
        return silo;
    }

    /// <summary>SIGTERM: the silo hands its queues and grains over and leaves.</summary>
    public Task StopSiloAsync(string name) => _silos[name].StopAsync(TimeSpan.FromSeconds(60));

    /// <summary>SIGKILL: nothing written, no goodbye; Orleans' failure detection notices.</summary>
    public void KillSilo(string name) => _silos[name].Kill();

    /// <summary>SIGSTOP: the silo stalls with its connections open; Orleans' failure detection notices, more slowly.</summary>
    public void FreezeSilo(string name) => _silos[name].Freeze();

    /// <summary>SIGCONT.</summary>
    public void ThawSilo(string name) => _silos[name].Thaw();

    /// <summary>Waits for a silo that learnt it was declared dead to exit; one that did not within <paramref name="timeout"/> is stopped.</summary>
    public async Task WaitForExitOrStopAsync(string name, TimeSpan timeout)
    {
        try
        {
            await _silos[name].WaitForExitAsync(timeout);
        }
        catch (TimeoutException)
        {
            await StopSiloAsync(name);
        }
    }

    /// <summary>The committed checkpoint of every partition of <paramref name="topic"/>.</summary>
    public Dictionary<int, long> Committed(string topic) =>
        _checkpoints.Committed(EndOffsets(topic).Keys).ToDictionary(c => c.Key.Partition.Value, c => c.Value);

    public Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase) =>
        _checkpoints.WaitForStoredAsync(ends, timeout, phase);

    public Dictionary<TopicPartition, long> EndOffsets(string topic) => _kafka.EndOffsets(topic);

    /// <summary><c>GET /api/cluster</c> from a running silo.</summary>
    public async Task<JsonElement> ClusterViewAsync()
    {
        var running = _silos.Values.First(s => s.IsRunning && s.HttpAddress is not null);
        using var http = TestApiKeys.Client(new Uri(running.HttpAddress!), timeout: TimeSpan.FromSeconds(10));
        return await http.GetFromJsonAsync<JsonElement>("/api/cluster");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos.Values)
        {
            await silo.DisposeAsync();
        }

        await PostgresServer.DropDatabaseAsync(DatabaseConnectionString);
    }
}
