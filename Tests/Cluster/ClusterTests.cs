using SiloStatus = Hearth.Runtime.Membership.SiloStatus;
using System.Diagnostics;
using System.Text.Json;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.TestingHost;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Cluster;

/// <summary>Silos as processes against one broker and one PostgreSQL database, joining, leaving and crashing under load.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ClusterTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task UnderLoad_AddAStopOneKillOne_NothingLostNothingAppliedTwice()
    {
        const int partitions = 12;
        var topics = kafka.CreateTopics(partitions);
        var ids = Enumerable.Range(0, 1000).Select(i => $"c-{i}").ToList();
        var setpoints = ids.ToDictionary(id => id, id => 19.0 + (int.Parse(id[2..], System.Globalization.CultureInfo.InvariantCulture) % 5));
        await using var cluster = await TestCluster.CreateAsync(kafka, topics, output);
        foreach (var name in new[] { "silo-a", "silo-b", "silo-c" })
        {
            await cluster.StartSiloAsync(name);
        }

        using var fleet = new Fleet(kafka, topics);
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, setpoints[id], 0.5, 0.5)), cluster, Timeout);

        await using var load = ContinuousLoad.Start(kafka, topics, ids, setpoints, fleet.Replay, ratePerSecond: 1000);
        await load.WaitForMoreAsync(3000);
        await cluster.StartSiloAsync("silo-d");
        await load.WaitForMoreAsync(3000);
        var graceful = await MeasureRecoveryAsync(cluster, "silo-b", () => cluster.StopSiloAsync("silo-b"));
        await load.WaitForMoreAsync(3000);
        var crash = await MeasureRecoveryAsync(cluster, "silo-c", () =>
        {
            cluster.KillSilo("silo-c");
            return Task.CompletedTask;
        });
        await load.WaitForMoreAsync(3000);
        await load.StopAsync();
        await cluster.WaitForStoredAsync(cluster.EndOffsets(topics.Readings), Timeout, "all readings");
        var recovery = $"cluster under load ({load.Sent} readings, 12 partitions, session timeout 3 s, checkpoint 250 ms): " +
                       $"all partitions processing again {graceful.TotalSeconds:F2} s after a graceful stop, {crash.TotalSeconds:F2} s after a kill";
        output.WriteLine(recovery);
        TestArtifacts.Record(recovery);

        // Every thermostat's state is what one in-memory replay of the same input produces.
        var states = await cluster.GrainStatesAsync(ThermostatControllerGrain.GrainTypeName);
        Assert.Equal(ids.Count, states.Count);
        foreach (var id in ids)
        {
            var stored = JsonSerializer.Deserialize(states[id].Json, ThermostatStateJsonContext.Default.ThermostatState)!;
            var expected = fleet.Replay.StateOf(id);
            Assert.Equal(
                (expected.Temperature, expected.Heater, expected.Seq, expected.LastMeasurement, expected.LastReadingAt),
                (stored.Temperature, stored.Heater, stored.Seq, stored.LastMeasurement, stored.LastReadingAt));
        }

        // Commands: no seq gap, duplicates identical, and after de-duplication exactly the replay's.
        var commands = TopicReader.ReadAll(kafka.BootstrapServers, topics.Commands, Timeout)
            .Select(r => ThermostatJson.DecodeCommand(r.Message.Value).Value!)
            .ToList();
        var expectedCommands = fleet.Replay.CommandsByThermostat();
        foreach (var id in ids)
        {
            var mine = commands.Where(c => c.ThermostatId == id).ToList();
            foreach (var duplicates in mine.GroupBy(c => c.Seq).Where(g => g.Count() > 1))
            {
                Assert.All(duplicates, d => Assert.Equal(duplicates.First(), d));
            }

            var deduplicated = mine.DistinctBy(c => c.Seq).OrderBy(c => c.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, deduplicated.Count).Select(i => (long)i), deduplicated.Select(c => c.Seq));
            Assert.Equal(expectedCommands.GetValueOrDefault(id) ?? [], deduplicated);
        }

        var published = $"cluster under load: {commands.Count} commands published, {commands.Count - fleet.Replay.Commands.Count} of them duplicates (at-least-once, same seq)";
        output.WriteLine(published);
        TestArtifacts.Record(published);

        // Every partition is owned by exactly one live silo, and the membership table tells each silo's story.
        await Poll.UntilAsync(async () =>
        {
            var silos = await cluster.Membership.ReadSilosAsync(topics.GroupId, CancellationToken.None);
            var live = silos.Where(s => s.Status == SiloStatus.Active).ToList();
            var owned = live.SelectMany(s => s.Partitions).ToList();
            return live.Select(s => s.Name).Order().SequenceEqual(["silo-a", "silo-d"])
                && owned.Count == partitions && owned.Distinct().Count() == partitions
                && silos.Where(s => s.Name is "silo-b" or "silo-c").All(s => s.Status == SiloStatus.Dead);
        }, Timeout, "membership: silo-a and silo-d active and owning every partition once; silo-b and silo-c dead");

        var events = await cluster.Membership.ReadEventsAsync(topics.GroupId, 1000, CancellationToken.None);
        string[] Story(string silo) => events.Where(e => e.SiloName == silo && e.Kind == "status").Reverse().Select(e => e.Detail.Split(' ')[0]).ToArray();
        Assert.Equal(["joining", "active", "shutting-down", "dead"], Story("silo-b"));
        Assert.Equal(["joining", "active", "dead"], Story("silo-c"));
        Assert.Contains(events, e => e.SiloName == "silo-c" && e.Detail.StartsWith("dead (no heartbeat", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FrozenSilo_ThatLostItsPartitions_CannotWriteStaleStateWhenItWakes()
    {
        const int partitions = 4;
        var topics = kafka.CreateTopics(partitions);
        var ids = Enumerable.Range(0, 40).Select(i => $"z-{i}").ToList();
        await using var cluster = await TestCluster.CreateAsync(kafka, topics, output);
        // A slow checkpoint, so that silo-a holds unsaved work when it freezes.
        var stale = await cluster.StartSiloAsync("silo-a", new Dictionary<string, string?> { ["Grains:CheckpointInterval"] = "00:00:05" });
        using var fleet = new Fleet(kafka, topics);
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), cluster, Timeout, "settings, stored by silo-a");
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 18, Fleet.Clock)));
        await cluster.WaitForStoredAsync(cluster.EndOffsets(topics.Readings), Timeout, "first readings, stored by silo-a");

        // Work silo-a does but has not checkpointed: its commands are out, its state is not stored.
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 25, Fleet.Clock.AddMinutes(1))));
        var commandsEnd = 2 * ids.Count;
        await Poll.UntilAsync(() => Task.FromResult(
            cluster.EndOffsets(topics.Commands).Values.Sum() >= commandsEnd), Timeout, "silo-a processed the second readings");
        stale.Freeze();

        // silo-b takes over once the group gives up on silo-a, and goes further.
        await cluster.StartSiloAsync("silo-b");
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 17, Fleet.Clock.AddMinutes(2))));
        await cluster.WaitForStoredAsync(cluster.EndOffsets(topics.Readings), Timeout, "silo-b stored everything");
        var leases = await cluster.LeasesAsync();
        var statesBefore = await cluster.GrainStatesAsync(ThermostatControllerGrain.GrainTypeName);

        // silo-a wakes with stale work: either its checkpoint is fenced or Kafka tells it the partitions are lost.
        stale.Thaw();
        await stale.WaitForLineAsync(l => l.Contains("is fenced", StringComparison.Ordinal) || l.Contains("Lost partition", StringComparison.Ordinal),
            Timeout, "silo-a notices it no longer owns its partitions");
        await cluster.StopSiloAsync("silo-a");

        Assert.All(leases.Values, l => Assert.Equal("silo-b", l.Owner));
        var statesAfter = await cluster.GrainStatesAsync(ThermostatControllerGrain.GrainTypeName);
        Assert.Equal(statesBefore, statesAfter);
        foreach (var id in ids)
        {
            var (json, _, epoch, partition) = statesAfter[id];
            Assert.Equal(leases[partition].Epoch, epoch);
            var stored = JsonSerializer.Deserialize(json, ThermostatStateJsonContext.Default.ThermostatState)!;
            Assert.Equal((17.0, HeaterAction.On, 3L), (stored.LastMeasurement, stored.Heater, stored.Seq));
        }
    }

    /// <summary>
    /// Runs <paramref name="disrupt"/> against <paramref name="silo"/> while readings flow and returns the time until
    /// every partition is processing again: each partition <paramref name="silo"/> held has a new owner that has
    /// stored progress under its own lease, and every other partition has stored progress beyond where it stood.
    /// A last checkpoint written by the disrupted silo itself (its release, or one that lands just before a kill)
    /// does not count.
    /// </summary>
    private static async Task<TimeSpan> MeasureRecoveryAsync(TestCluster cluster, string silo, Func<Task> disrupt)
    {
        var topics = cluster.Topics;
        var leasesBefore = await cluster.LeasesAsync();
        var before = await cluster.StoredOffsetsAsync(topics.Readings);
        Assert.Contains(leasesBefore.Values, l => l.Owner == silo);
        var clock = Stopwatch.StartNew();
        var disruption = disrupt();
        await Poll.UntilAsync(async () =>
        {
            var leases = await cluster.LeasesAsync();
            var progress = await cluster.StoredProgressAsync(topics.Readings);
            return Enumerable.Range(0, topics.Partitions).All(p =>
                leases.TryGetValue(p, out var lease) && lease.Owner != silo
                && progress.TryGetValue(p, out var stored)
                && (lease.Epoch == leasesBefore.GetValueOrDefault(p).Epoch
                    ? stored.Offset > before.GetValueOrDefault(p, -1)
                    : stored.Epoch == lease.Epoch));
        }, Timeout, $"every partition processing again after {silo}");
        var elapsed = clock.Elapsed;
        await disruption;
        return elapsed;
    }
}
