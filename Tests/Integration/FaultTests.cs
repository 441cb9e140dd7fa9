using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Silo.Storage;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

/// <summary>
/// Faults of the infrastructure under load: the partitions wait them out, however long, and afterwards every setting
/// and command is right, nothing was dead-lettered, and Kafka's commands agree with the controllers' states.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class FaultTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task AStorageOutage_ThatOutlastsEveryRetry_DeadLettersNothing_AndEverySettingAndCommandIsRightAfterwards()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 30).Select(i => $"so-{i}").ToList();
        // Thermostats whose only input during the outage is a new setting (settings and readings are on two topics, so
        // a thermostat given both would apply them in either order).
        var resetIds = Enumerable.Range(0, 10).Select(i => $"so-reset-{i}").ToList();
        var database = _directory.File("outage.db");
        using var fleet = new Fleet(kafka, topics);
        // A write that finds the database locked fails after a second; a controller may fail twice for a reason of its own.
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, database, output, new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = $"Data Source={database};Default Timeout=1",
            ["Grains:MaxAttempts"] = "2",
        });
        var dispatcher = silo.Services.GetRequiredService<ThermostatDispatcher>();
        await fleet.PublishSettingsAsync(ids.Concat(resetIds).Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout, "settings before the outage");

        // The database goes away for writes (another process holds it locked) while settings and readings arrive.
        await using (var outage = new SqliteConnection($"Data Source={database}"))
        {
            await outage.OpenAsync();
            await using (var lockIt = outage.CreateCommand())
            {
                lockIt.CommandText = "BEGIN EXCLUSIVE";
                await lockIt.ExecuteNonQueryAsync();
            }

            fleet.PublishInOrder(resetIds.Select(id => (ThermostatMessage)new ThermostatSetting(id, 23.5, 1, 1)));
            fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 2).Select(r => r with { Timestamp = r.Timestamp.AddMinutes(10) }));
            await Poll.UntilAsync(() => Task.FromResult(dispatcher.Stalls.Any(s => silo.Services.GetRequiredService<TimeProvider>().GetUtcNow() - s.Since > TimeSpan.FromSeconds(8))),
                Timeout, "a partition waiting for the database for 8 s");
            Assert.Equal(0, silo.Kafka.Partitions().Sum(p => p.DeadLettered));
            await using var unlock = outage.CreateCommand();
            unlock.CommandText = "ROLLBACK";
            await unlock.ExecuteNonQueryAsync();
        }

        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings after the outage");
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Settings), Timeout, "settings after the outage");
        Assert.Empty(TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, TimeSpan.FromSeconds(5)));
        Assert.Empty(dispatcher.Stalls);
        ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout);
        await silo.StopAsync();
        await ReplayAssertions.StatesMatchAsync(fleet.Replay, ids.Concat(resetIds), id => StoredStates.ThermostatInSqliteAsync(database, id));
        Assert.All(resetIds, id => Assert.Equal(23.5, fleet.Replay.StateOf(id).Temperature));

        // The operator is told of the outage once when it starts and once when it ends, and of each partition that
        // waited; not of every failed write or controller call.
        Assert.Single(silo.Logs.Of<GroupCommitGrainStorage>(LogLevel.Error));
        Assert.Single(silo.Logs.Of<GroupCommitGrainStorage>(LogLevel.Information), e => e.Message.Contains("commit again", StringComparison.Ordinal));
        Assert.DoesNotContain(silo.Logs.Entries, e => e.Category == typeof(ThermostatControllerGrain).FullName && e.Level >= LogLevel.Warning);
        var waits = silo.Logs.Of<ThermostatDispatcher>(LogLevel.Warning);
        Assert.InRange(waits.Count, 1, ids.Count - 1);
        Assert.Equal(waits.Count, silo.Logs.Of<ThermostatDispatcher>(LogLevel.Information).Count(e => e.Message.Contains("goes on", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CommandsKafkaRefuses_AreRecordedFirst_AndPublishedWithTheirSeqOnceKafkaTakesThem()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        var ids = Enumerable.Range(0, 10).Select(i => $"kr-{i}").ToList();
        var database = _directory.File("refused.db");
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, database, output, new Dictionary<string, string?>
        {
            ["Kafka:ProducerProperties:message.timeout.ms"] = "2000",
        });
        var dispatcher = silo.Services.GetRequiredService<ThermostatDispatcher>();
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);

        // Kafka refuses the commands topic; readings that switch every heater on arrive.
        kafka.Cluster.SetTopicError(topics.Commands, Confluent.Kafka.ErrorCode.TopicAuthorizationFailed);
        try
        {
            fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 18, Fleet.Clock)));
            await Poll.UntilAsync(() => Task.FromResult(dispatcher.Stalls.Count > 0), Timeout, "the partition waiting for Kafka to take the commands");

            // Each controller that was called recorded its command before trying to publish it: its stored state says
            // "on", seq 1, unpublished. (The partition waits at its first batch, so a thermostat whose reading came in a
            // later one has not been called yet.)
            var recorded = 0;
            foreach (var id in ids)
            {
                var stored = await StoredStates.ThermostatInSqliteAsync(database, id);
                if (stored!.Seq == 0)
                {
                    Assert.Null(stored.Heater);
                    continue;
                }

                Assert.Equal((HeaterAction.On, 1L), (stored.Heater, stored.Seq));
                Assert.Equal([1L], stored.Unpublished!.Select(c => c.Seq));
                recorded++;
            }

            Assert.NotEqual(0, recorded);
        }
        finally
        {
            kafka.Cluster.SetTopicError(topics.Commands, Confluent.Kafka.ErrorCode.NoError);
        }

        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings once Kafka takes commands again");
        // Every command is in Kafka once Kafka takes them, with the seq the state recorded: none lost, none renumbered.
        ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout);
        await silo.StopAsync();
        foreach (var id in ids)
        {
            var stored = await StoredStates.ThermostatInSqliteAsync(database, id);
            Assert.Equal((HeaterAction.On, 1L), (stored!.Heater, stored.Seq));
            Assert.Null(stored.Unpublished);
        }

        Assert.Empty(TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task AFatalErrorOfTheProducer_UnderLoad_ReplacesIt_AndEveryCommandIsRightAfterwards_WithNothingDeadLettered()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 30).Select(i => $"fp-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("fatal.db"), output);
        var publisher = silo.Kafka.Publisher;
        var health = silo.Services.GetRequiredService<HealthCheckService>();
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);

        // Readings swing the heaters on and off; while commands flow, the idempotent producer fails fatally (as it does
        // when it can no longer keep order without duplicates).
        await using (var load = ContinuousLoad.Start(kafka, topics, ids, ids.ToDictionary(id => id, _ => 21.0), fleet.Replay, ratePerSecond: 2_000))
        {
            await Poll.UntilAsync(() => Task.FromResult(silo.Metrics.Totals.Commands >= 100), Timeout, "commands flowing");
            var failed = publisher.Producer;
            LibrdkafkaFaults.RaiseFatalError(failed, Confluent.Kafka.ErrorCode.OutOfOrderSequenceNumber, "injected by the test");
            var before = silo.Metrics.Totals.Commands;
            await Poll.UntilAsync(() => Task.FromResult(publisher.Producer != failed && silo.Metrics.Totals.Commands >= before + 100), Timeout,
                "commands flowing through a new producer");
            await load.StopAsync();
        }

        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings after the fatal error");
        ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout);
        Assert.Empty(TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, TimeSpan.FromSeconds(5)));
        Assert.Equal(0, silo.Kafka.Partitions().Sum(p => p.DeadLettered));
        Assert.Null(publisher.Fault);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        // Told once, with the reason.
        var told = Assert.Single(silo.Logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.Equal(LogLevel.Critical, told.Level);
        Assert.Contains("injected by the test", told.Message, StringComparison.Ordinal);

        // A producer that fails fatally before it delivered anything: rebuilding does not help, and health says so. The
        // second producer delivered commands, so its failure is a first again; its replacement delivers nothing (no load).
        var second = publisher.Producer;
        LibrdkafkaFaults.RaiseFatalError(second, Confluent.Kafka.ErrorCode.OutOfOrderSequenceNumber, "injected again");
        await Poll.UntilAsync(() => Task.FromResult(publisher.Producer != second), Timeout, "a third producer");
        Assert.Null(publisher.Fault);
        var rebuilt = publisher.Producer;
        LibrdkafkaFaults.RaiseFatalError(rebuilt, Confluent.Kafka.ErrorCode.OutOfOrderSequenceNumber, "injected a third time");
        await Poll.UntilAsync(() => Task.FromResult(publisher.Fault is not null), Timeout, "the producer's fault reported");
        Assert.Equal(2, publisher.Fault?.FatalErrors);
        var report = (await health.CheckHealthAsync()).Entries["silo"];
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("failed fatally 2 times", report.Description, StringComparison.Ordinal);
        Assert.Contains("injected a third time", report.Description, StringComparison.Ordinal);

        // It is rebuilt again, after a pause; once that one delivers, the silo is healthy.
        await Poll.UntilAsync(() => Task.FromResult(publisher.Producer != rebuilt), Timeout, "a fourth producer");
        // Cold, then warm: every heater turns at least once, so the new producer delivers.
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 15, Fleet.Clock.AddDays(1))));
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 30, Fleet.Clock.AddDays(2))));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings through the fourth producer");
        ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout);
        Assert.Null(publisher.Fault);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
    }

    public void Dispose() => _directory.Dispose();
}
