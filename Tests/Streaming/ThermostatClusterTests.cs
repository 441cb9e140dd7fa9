using Hearth.Grains.Interfaces;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Streaming;

/// <summary>
/// The controllers and the Kafka stream provider on Orleans' in-process test cluster: silos join, stop and are
/// killed while input flows, and queues are pulled by two silos at once.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ThermostatClusterTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task ASiloJoins_OneStops_OneIsKilled_NothingLostNothingAppliedTwice()
    {
        var topics = kafka.CreateTopics(partitions: 4);
        var ids = Enumerable.Range(0, 200).Select(i => $"ip-{i}").ToList();
        var database = await PostgresServer.CreateDatabaseAsync();
        try
        {
            var checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);
            using var fleet = new Fleet(kafka, topics);
            await using var cluster = await ThermostatCluster.StartAsync(kafka, topics, database, output, silos: 2);
            var swing = 0;
            // Every round carries settings and readings, so every partition queue of both topics has input in it,
            // whichever of them a joining silo takes.
            async Task RoundAsync(string phase)
            {
                await fleet.PublishSettingsAsync(ids.Select((id, i) => new ThermostatSetting(id, 19 + ((i + swing) % 4), 0.5, 0.5)),
                    checkpoints, Timeout, $"settings {phase}");
                fleet.PublishReadings(Fleet.Swinging(ids, 20.5, swings: 1).Select(r => r with { Timestamp = r.Timestamp.AddMinutes(swing) }));
                swing++;
                await checkpoints.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, phase);
            }

            await RoundAsync("two silos");
            var joined = await cluster.StartAdditionalSiloAsync();
            await Poll.UntilAsync(() => Task.FromResult(joined.Kafka().Partitions().Count > 0), Timeout, "the joining silo pulls partitions");
            await RoundAsync("after a join");
            var pulled = joined.Kafka().Partitions();
            Assert.True(pulled.Sum(p => p.Received) > 0,
                "the joining silo read none of the round's input from its partitions: " +
                string.Join(", ", pulled.Select(p => $"{p.Topic}[{p.Partition}] {p.Received}")));

            await cluster.StopSiloAsync(cluster.Silos[0]);
            await RoundAsync("after a graceful stop");
            await cluster.KillSiloAsync(joined);
            await RoundAsync("after a kill");

            // Stopped gracefully, the last silo writes what it holds.
            await cluster.StopAllSilosAsync();
            await ReplayAssertions.StatesMatchAsync(fleet.Replay, ids, id => StoredStates.ThermostatInPostgresAsync(database, id));
            ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout);
            Assert.Empty(TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task TwoSilosPullingTheSamePartitions_ApplyEveryInputOnce_AndPublishEveryCommandOnce()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 50).Select(i => $"ov-{i}").ToList();
        var database = await PostgresServer.CreateDatabaseAsync();
        try
        {
            var checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);
            using var fleet = new Fleet(kafka, topics);
            // Both silos pull every partition: every message is delivered twice, as while a queue moves.
            await using var cluster = await ThermostatCluster.StartAsync(kafka, topics, database, output, silos: 2,
                configureKafka: k => k.ConfigurePartitionBalancing((_, _) => new EveryQueueBalancer()));
            await Poll.UntilAsync(() => Task.FromResult(cluster.Silos.All(s => s.Kafka().Partitions().Count == 2 * topics.Partitions)),
                Timeout, "both silos pull every partition");

            await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), checkpoints, Timeout);
            fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 4));
            await checkpoints.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings");
            var inputs = ids.Count * 4 * 6 + ids.Count;
            await Poll.UntilAsync(() => Task.FromResult(cluster.Silos.All(s => s.Kafka().Partitions().Sum(p => p.Delivered) == inputs)),
                Timeout, "both silos delivered the whole input");

            // The second delivery of every input was skipped by its controller, so nothing was applied or published twice.
            Assert.Equal(ids.Count * 4 * 6, cluster.Silos.Sum(s => s.Metrics().Totals.Readings));
            Assert.Equal(0, ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout));
            await cluster.StopAllSilosAsync();
            await ReplayAssertions.StatesMatchAsync(fleet.Replay, ids, id => StoredStates.ThermostatInPostgresAsync(database, id));
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }
}
