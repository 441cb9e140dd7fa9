using System.Text;
using Confluent.Kafka;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Silo.Storage;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Tests.Infrastructure;
using Hearth.Tests.Streaming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

/// <summary>
/// Silos started on a database of the retired Hearth runtime: its thermostat states carry over, consistent with
/// the offsets it stored, once.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class UpgradeFromRetiredRuntimeTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private const string RefusalPrefix = "Silo could not start: ";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task ASilo_CarriesTheStatesOver_SkipsWhatTheRetiredRuntimeApplied_AndContinuesItsCommands()
    {
        var topics = kafka.CreateTopics(partitions: 3);
        var ids = Enumerable.Range(0, 24).Select(i => $"up-{i}").ToList();
        var path = _directory.File("retired.db");
        var retired = new RetiredRuntimeDatabase("sqlite", $"Data Source={path}");
        using var fleet = new Fleet(kafka, topics);
        var handled = await HandledByTheRetiredRuntimeAsync(fleet, topics, ids, retired);
        await retired.StoreRawStateAsync("up-unreadable", 0, """{"temperature": "warm""");

        await using (var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, path, output))
        {
            // Kafka had no commits of the group (they expired): the upgrade set them to the stored offsets, so what the
            // retired runtime applied is not read again.
            var checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);
            var ends = kafka.EndOffsets(topics.Settings).Concat(kafka.EndOffsets(topics.Readings)).ToDictionary();
            Assert.Equal(ends, checkpoints.Committed(ends.Keys));
            Assert.Equal((0L, 0L, 0L), silo.Metrics.Totals);
            var status = await silo.Grains.GetGrain<IThermostatControllerGrain>(ThermostatKeys.GrainKey(ids[5])).GetStatusAsync();
            var before = fleet.Replay.StateOf(ids[5]);
            Assert.Equal((before.Temperature, before.Heater, before.Seq, before.LastMeasurement),
                (status?.Setpoint, status?.Heater, status?.LastCommandSeq, status?.LastMeasurement));

            fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 2).Select(r => r with { Timestamp = r.Timestamp.AddHours(1) }));
            await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings after the upgrade");
            Assert.Equal(ids.Count * 2 * 6, silo.Metrics.Totals.Readings);
            Assert.Equal(ids.Count * 2 * 6, Kafka(silo.Services).Partitions().Sum(p => p.Received));

            // Done once: recorded, and not done again.
            Assert.Equal([LegacyStateImporter.Step], await retired.UpgradeStepsAsync(OrleansServiceId(silo.Services)));
            var importer = silo.Services.GetServices<ILifecycleParticipant<ISiloLifecycle>>().OfType<LegacyStateImporter>().Single();
            Assert.Null(await importer.ImportAsync(CancellationToken.None));
        }

        // The commands are the replay's after those the retired runtime published: none again, the numbers go on.
        AssertCommandsContinue(fleet, handled, topics);
        await ReplayAssertions.StatesMatchAsync(fleet.Replay, ids, id => StoredStates.ThermostatInSqliteAsync(path, id));
        Assert.Null(await StoredStates.ThermostatInSqliteAsync(path, "up-unreadable"));
    }

    [Fact]
    public async Task ConsumerGroupAheadOfTheDatabase_IsSetBackToIt_SoTheInputAfterTheStoredStatesIsApplied()
    {
        // A database restored from a backup: the group's commits passed input the stored states have not applied.
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 12).Select(i => $"upb-{i}").ToList();
        var path = _directory.File("restored.db");
        var retired = new RetiredRuntimeDatabase("sqlite", $"Data Source={path}");
        using var fleet = new Fleet(kafka, topics);
        var handled = await HandledByTheRetiredRuntimeAsync(fleet, topics, ids, retired);
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 2).Select(r => r with { Timestamp = r.Timestamp.AddHours(1) }));
        var checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);
        checkpoints.Commit(kafka.EndOffsets(topics.Readings).Concat(kafka.EndOffsets(topics.Settings)));

        await using (var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, path, output))
        {
            await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings the database had not applied");
            Assert.Equal(ids.Count * 2 * 6, silo.Metrics.Totals.Readings);
        }

        AssertCommandsContinue(fleet, handled, topics);
        await ReplayAssertions.StatesMatchAsync(fleet.Replay, ids, id => StoredStates.ThermostatInSqliteAsync(path, id));
    }

    [Fact]
    public async Task OffsetsPastThePartitionsEnd_FailTheStart_NamingThePartition_UntilDeleted()
    {
        // The retired runtime read other topics of the same names (recreated since): its states do not stand at these offsets.
        var topics = kafka.CreateTopics(partitions: 2);
        var path = _directory.File("recreated.db");
        var retired = new RetiredRuntimeDatabase("sqlite", $"Data Source={path}");
        await retired.CreateAsync();
        await retired.StoreRawStateAsync("upr-1", 1, """{"temperature": 21}""");
        await retired.StoreOffsetAsync(topics.GroupId, 1, topics.Readings, 500);

        var failure = await RefusedStartAsync(topics, path);

        Assert.Contains($"{topics.Readings}[1]", failure, StringComparison.Ordinal);
        Assert.Contains("the partition ends at 0", failure, StringComparison.Ordinal);
        Assert.Contains("delete the rows of hearth_partition_offset", failure, StringComparison.Ordinal);
        Assert.Null(await StoredStates.ThermostatInSqliteAsync(path, "upr-1"));

        // The way on the message names: without the offsets the states carry over, and input is read from the start.
        await retired.DeleteOffsetsAsync();
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, path, output);
        Assert.Equal(21, (await StoredStates.ThermostatInSqliteAsync(path, "upr-1"))?.Temperature);
    }

    [Fact]
    public async Task AGroupWithMembers_FailsTheStart_BeforeAnyStateIsCarriedOver()
    {
        // A silo of the retired runtime still running: a member of the group, which Kafka then takes commits from alone.
        var topics = kafka.CreateTopics(partitions: 1);
        var path = _directory.File("running.db");
        var retired = new RetiredRuntimeDatabase("sqlite", $"Data Source={path}");
        using var fleet = new Fleet(kafka, topics);
        await HandledByTheRetiredRuntimeAsync(fleet, topics, ["upm-1"], retired);
        using var member = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = topics.GroupId,
            EnableAutoCommit = false,
        }).SetLogHandler((_, _) => { }).Build();
        member.Subscribe(topics.Readings);
        await Poll.UntilAsync(() => Task.FromResult(member.Consume(TimeSpan.FromMilliseconds(100)) is not null || member.Assignment.Count > 0),
            Timeout, "the old member joining the group");

        var failure = await RefusedStartAsync(topics, path);

        Assert.Contains($"Kafka refused the checkpoints of consumer group {topics.GroupId}", failure, StringComparison.Ordinal);
        Assert.Null(await StoredStates.ThermostatInSqliteAsync(path, "upm-1"));
        member.Close();
    }

    [Fact]
    public async Task SilosThatDidNotStopGracefully_FailTheStart_UntilMarkedStopped()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        var path = _directory.File("crashed.db");
        var retired = new RetiredRuntimeDatabase("sqlite", $"Data Source={path}");
        using var fleet = new Fleet(kafka, topics);
        await HandledByTheRetiredRuntimeAsync(fleet, topics, ["upc-1"], retired);
        await retired.StoreSiloAsync(topics.GroupId, "old-a", "dead");
        await retired.StoreSiloAsync(topics.GroupId, "old-b", "active");
        await retired.StoreSiloAsync("another-group", "old-c", "active");

        var failure = await RefusedStartAsync(topics, path);

        Assert.Contains("silos old-b (active, last heartbeat 2025-12-01 00:00:00Z)", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("old-a", failure, StringComparison.Ordinal);
        Assert.Null(await StoredStates.ThermostatInSqliteAsync(path, "upc-1"));

        // The operator's way on (deploy/README.md): the silo marked stopped, the states carry over.
        await retired.StoreSiloAsync(topics.GroupId, "old-b", "dead");
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, path, output);
        Assert.NotNull(await StoredStates.ThermostatInSqliteAsync(path, "upc-1"));
    }

    [Fact]
    [Trait("Category", "Cluster")]
    public async Task SilosOnPostgres_StartingTogether_CarryTheStatesOverOnce()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 30).Select(i => $"upg-{i}").ToList();
        var database = await PostgresServer.CreateDatabaseAsync();
        try
        {
            var retired = new RetiredRuntimeDatabase("postgres", database);
            using var fleet = new Fleet(kafka, topics);
            var handled = await HandledByTheRetiredRuntimeAsync(fleet, topics, ids, retired);
            var checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);

            await using var cluster = await ThermostatCluster.StartAsync(kafka, topics, database, output, silos: 2);
            fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 2).Select(r => r with { Timestamp = r.Timestamp.AddHours(1) }));
            await checkpoints.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings after the upgrade");
            Assert.Equal(ids.Count * 2 * 6, cluster.Silos.Sum(s => s.Metrics().Totals.Readings));
            Assert.Equal([LegacyStateImporter.Step], await retired.UpgradeStepsAsync(OrleansServiceId(cluster.Silos[0].ServiceProvider)));

            await cluster.StopAllSilosAsync();
            AssertCommandsContinue(fleet, handled, topics);
            await ReplayAssertions.StatesMatchAsync(fleet.Replay, ids, id => StoredStates.ThermostatInPostgresAsync(database, id));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>
    /// Publishes settings and readings, and stores what the retired runtime would have stored once it had handled
    /// them: each thermostat's state, and each partition's next offsets. Returns how many commands it published.
    /// </summary>
    private async Task<int> HandledByTheRetiredRuntimeAsync(Fleet fleet, TestTopics topics, IReadOnlyList<string> ids, RetiredRuntimeDatabase retired)
    {
        fleet.PublishInOrder(ids.Select((id, i) => new ThermostatSetting(id, 20 + (i % 3), 0.5, 1)));
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 3));
        await retired.CreateAsync();
        foreach (var id in ids)
        {
            await retired.StoreStateAsync(id, KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(id), topics.Partitions), fleet.Replay.StateOf(id));
        }

        foreach (var topic in new[] { topics.Readings, topics.Settings })
        {
            foreach (var (partition, end) in kafka.EndOffsets(topic))
            {
                await retired.StoreOffsetAsync(topics.GroupId, partition.Partition, topic, end);
            }
        }

        Assert.NotEmpty(fleet.Replay.Commands);
        return fleet.Replay.Commands.Count;
    }

    /// <summary>
    /// The commands published since the upgrade (without repeats) are the replay's after the
    /// <paramref name="handled"/> the retired runtime published: none of those again, and the numbers go on.
    /// </summary>
    private void AssertCommandsContinue(Fleet fleet, int handled, TestTopics topics)
    {
        var published = TopicReader.ReadAll(kafka.BootstrapServers, topics.Commands, Timeout)
            .Select(r => ThermostatJson.DecodeCommand(r.Message.Value).Value ?? throw new InvalidOperationException("undecodable command"))
            .DistinctBy(c => (c.ThermostatId, c.Seq))
            .OrderBy(c => c.ThermostatId, StringComparer.Ordinal).ThenBy(c => c.Seq)
            .ToList();
        Assert.NotEmpty(published);
        Assert.Equal(fleet.Replay.Commands.Skip(handled).OrderBy(c => c.ThermostatId, StringComparer.Ordinal).ThenBy(c => c.Seq), published);
    }

    /// <summary>
    /// Starts the silo executable on the database, expecting it to refuse: it exits with the code for an unusable
    /// environment, and its error is the one line returned. (A process, as operators run it: a silo whose start fails
    /// part-way cannot be stopped and only goes with its process.)
    /// </summary>
    private async Task<string> RefusedStartAsync(TestTopics topics, string path)
    {
        await using var silo = SiloProcess.Start("refused", TestSilo.Settings(kafka.BootstrapServers, topics, path, "refused"), output.WriteLine);
        var error = await silo.WaitForLineAsync(l => l.StartsWith(RefusalPrefix, StringComparison.Ordinal), Timeout, "its refusal");
        await silo.WaitForExitAsync(Timeout);
        Assert.Equal(78, silo.ExitCode);
        return error[RefusalPrefix.Length..];
    }

    private static IKafkaStreamStatus Kafka(IServiceProvider services) => services.GetRequiredKeyedService<IKafkaStreamStatus>(ThermostatStreams.Provider);

    private static string OrleansServiceId(IServiceProvider services) => services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId;
}
