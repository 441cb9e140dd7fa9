using IMembershipTable = Hearth.Runtime.Membership.IMembershipTable;
using System.Globalization;
using Confluent.Kafka;
using Hearth.Runtime.Membership;
using Hearth.Runtime.Storage.AdoNet;
using Xunit.Abstractions;
using Hearth.TestingHost;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// Several silos, each a process of its own, against one embedded Kafka and one PostgreSQL database (the
/// equivalent of Orleans' TestingHost): add a silo, stop one gracefully, kill one abruptly.
/// </summary>
public sealed class TestCluster : IStoresInput, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly EmbeddedKafkaFixture _kafka;
    private readonly ITestOutputHelper? _output;
    private readonly Dictionary<string, string?> _settings;
    private readonly Dictionary<string, SiloProcess> _silos = new(StringComparer.Ordinal);

    private TestCluster(EmbeddedKafkaFixture kafka, TestTopics topics, string database, ITestOutputHelper? output,
        IDictionary<string, string?>? overrides)
    {
        _kafka = kafka;
        Topics = topics;
        DatabaseConnectionString = database;
        _output = output;
        Database = Databases.Postgres(database);
        Membership = new AdoNetMembershipTable(Database);
        _settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Kafka:BootstrapServers"] = kafka.BootstrapServers,
            ["Kafka:GroupId"] = topics.GroupId,
            // The embedded broker runs each rebalance round for the session timeout less one second.
            ["Kafka:SessionTimeoutMs"] = "3000",
            // The embedded broker answers an empty fetch only after fetch.wait.max.ms, even when data arrives meanwhile.
            ["Kafka:ConsumerProperties:fetch.wait.max.ms"] = "10",
            ["Topics:Readings"] = topics.Readings,
            ["Topics:Settings"] = topics.Settings,
            ["Topics:Commands"] = topics.Commands,
            ["Topics:DeadLetter"] = topics.DeadLetter,
            ["Grains:CheckpointInterval"] = "00:00:00.250",
            ["Membership:HeartbeatInterval"] = "00:00:00.500",
            ["Membership:DeadAfter"] = "00:00:03",
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = database,
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public TestTopics Topics { get; }

    public string DatabaseConnectionString { get; }

    public AdoNetDatabase Database { get; }

    public IMembershipTable Membership { get; }

    public IReadOnlyDictionary<string, SiloProcess> Silos => _silos;

    /// <summary>A cluster with a new database of its own; no silo yet.</summary>
    public static async Task<TestCluster> CreateAsync(EmbeddedKafkaFixture kafka, TestTopics topics, ITestOutputHelper? output,
        IDictionary<string, string?>? overrides = null)
    {
        var database = await PostgresServer.CreateDatabaseAsync();
        return new TestCluster(kafka, topics, database, output, overrides);
    }

    /// <summary>Starts a silo and waits until it reports itself active (it has its first assignment).</summary>
    public async Task<SiloProcess> StartSiloAsync(string name, IDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(_settings) { ["Silo:Name"] = name };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var silo = SiloProcess.Start(name, settings, _output.AsLog());
        _silos[name] = silo;
        await silo.WaitUntilActiveAsync(StartTimeout);
        return silo;
    }

    /// <summary>SIGTERM: the silo releases its partitions (checkpointing them) and leaves.</summary>
    public Task StopSiloAsync(string name) => _silos[name].StopAsync(TimeSpan.FromSeconds(60));

    /// <summary>SIGKILL: no checkpoint, no goodbye; the group notices after its session timeout.</summary>
    public void KillSilo(string name) => _silos[name].Kill();

    /// <summary>The stored next offset of every partition of <paramref name="topic"/> (absent: nothing stored yet).</summary>
    public async Task<Dictionary<int, long>> StoredOffsetsAsync(string topic) =>
        (await StoredProgressAsync(topic)).ToDictionary(p => p.Key, p => p.Value.Offset);

    /// <summary>
    /// The stored next offset of every partition of <paramref name="topic"/> with the lease epoch it was written
    /// under, which tells the owner that wrote it.
    /// </summary>
    public async Task<Dictionary<int, (long Offset, long Epoch)>> StoredProgressAsync(string topic)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = AdoNetDatabase.Command(connection, null,
            "SELECT partition_id, next_offset, epoch FROM hearth_partition_offset WHERE group_id = @g AND topic = @t");
        AdoNetDatabase.Add(command, "@g", Topics.GroupId);
        AdoNetDatabase.Add(command, "@t", topic);
        await using var reader = await command.ExecuteReaderAsync();
        var progress = new Dictionary<int, (long, long)>();
        while (await reader.ReadAsync())
        {
            progress[reader.GetInt32(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        }

        return progress;
    }

    /// <summary>Every stored grain state of a type: key, JSON, version, epoch.</summary>
    public async Task<Dictionary<string, (string Json, long Version, long Epoch, int Partition)>> GrainStatesAsync(string grainType)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = AdoNetDatabase.Command(connection, null,
            "SELECT grain_key, state, version, epoch, partition_id FROM hearth_grain_state WHERE grain_type = @t");
        AdoNetDatabase.Add(command, "@t", grainType);
        await using var reader = await command.ExecuteReaderAsync();
        var states = new Dictionary<string, (string, long, long, int)>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            states[reader.GetString(0)] = (reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt32(4));
        }

        return states;
    }

    /// <summary>The lease epoch of every partition.</summary>
    public async Task<Dictionary<int, (long Epoch, string Owner)>> LeasesAsync()
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await using var command = AdoNetDatabase.Command(connection, null,
            "SELECT partition_id, epoch, owner FROM hearth_partition_lease WHERE group_id = @g");
        AdoNetDatabase.Add(command, "@g", Topics.GroupId);
        await using var reader = await command.ExecuteReaderAsync();
        var leases = new Dictionary<int, (long, string)>();
        while (await reader.ReadAsync())
        {
            leases[reader.GetInt32(0)] = (reader.GetInt64(1), reader.GetString(2));
        }

        return leases;
    }

    /// <summary>
    /// Waits until every partition has stored at least <paramref name="ends"/> (offsets of one topic).
    /// The silos are other processes, so this reads the database at a short interval.
    /// </summary>
    public Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase)
    {
        var topic = ends.Keys.Select(k => k.Topic).Distinct().Single();
        return Poll.UntilAsync(async () =>
        {
            var stored = await StoredOffsetsAsync(topic);
            return ends.All(e => e.Value == 0 || (stored.TryGetValue(e.Key.Partition.Value, out var s) && s >= e.Value));
        }, timeout, phase, async () =>
        {
            var stored = await StoredOffsetsAsync(topic);
            return string.Join(", ", ends.Where(e => e.Value > 0).Select(e =>
                $"{e.Key.Partition.Value}: {(stored.TryGetValue(e.Key.Partition.Value, out var s) ? s.ToString(CultureInfo.InvariantCulture) : "-")}/{e.Value}"));
        });
    }

    public Dictionary<TopicPartition, long> EndOffsets(string topic) => _kafka.EndOffsets(topic);

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos.Values)
        {
            await silo.DisposeAsync();
        }

        (Database.Dialect as IDisposable)?.Dispose();
        await PostgresServer.DropDatabaseAsync(DatabaseConnectionString);
    }
}
