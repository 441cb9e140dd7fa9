using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Cluster;

/// <summary>
/// Silo processes on one broker and one PostgreSQL database (Orleans membership and grain state), joining,
/// leaving, crashing and freezing under load: what only real processes show.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ClusterTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task UnderLoadBehindNginx_AddAStopOneKillOneFreezeOne_NothingLostNothingAppliedTwice_EveryRequestAnswered()
    {
        const int partitions = 6;
        var topics = kafka.CreateTopics(partitions);
        var ids = Enumerable.Range(0, 1000).Select(i => $"c-{i}").ToList();
        var setpoints = ids.ToDictionary(id => id, id => 19.0 + (int.Parse(id[2..], CultureInfo.InvariantCulture) % 5));
        await using var cluster = await TestCluster.CreateAsync(kafka, topics, output);
        // Every silo's ports are known beforehand, so the balancer lists silo-d before it joins (as a deployment's would).
        var ports = new[] { "silo-a", "silo-b", "silo-c", "silo-d" }.ToDictionary(name => name, _ => TestPorts.Silo());
        foreach (var name in new[] { "silo-a", "silo-b", "silo-c" })
        {
            await cluster.StartSiloAsync(name, ports[name]);
        }

        using var balancer = NginxLoadBalancer.Start(ports.Values.Select(p => p["Urls"]!));
        using var fleet = new Fleet(kafka, topics);
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, setpoints[id], 0.5, 0.5)), cluster, Timeout);

        await using var load = ContinuousLoad.Start(kafka, topics, ids, setpoints, fleet.Replay, ratePerSecond: 1000);
        await using var probe = ApiProbe.Start(balancer.Address, ids.Select(ApiProbe.Thermostat).ToList());
        await load.WaitForMoreAsync(3000);
        await cluster.StartSiloAsync("silo-d", ports["silo-d"]);
        await WaitForQueuesAsync(cluster, s => s.Contains("silo-d"), "silo-d pulls partitions");
        await load.WaitForMoreAsync(3000);
        var graceful = await MeasureRecoveryAsync(cluster, () => cluster.StopSiloAsync("silo-b"));
        await load.WaitForMoreAsync(3000);
        // Someone looks at thermostats whose controllers live on silo-c as it dies, and at the cluster (whose directory
        // grain silo-c may hold).
        var onVictim = await HostedOnAsync(balancer.Address, ids.Take(300), "silo-c");
        var victimPaths = onVictim.SelectMany((id, i) => i % 4 == 0 ? ["/api/cluster", ApiProbe.Thermostat(id)] : new[] { ApiProbe.Thermostat(id) }).ToList();
        await using var victimProbe = ApiProbe.Start(balancer.Address, victimPaths);
        var crash = await MeasureRecoveryAsync(cluster, () =>
        {
            cluster.KillSilo("silo-c");
            return Task.CompletedTask;
        });
        await load.WaitForMoreAsync(3000);
        var answers = await probe.StopAsync();
        var victimAnswers = await victimProbe.StopAsync();

        // silo-d stalls past its death declaration (SIGSTOP: a long pause, a stalled VM) in the middle of its work, with
        // checkpoints it has not committed yet; silo-a takes its partitions and controllers over and finishes the input.
        // Woken (SIGCONT), silo-d learns it was declared dead and leaves; whatever it still tries is fenced: it commits
        // none of its stale checkpoints over silo-a's (and one it had sent as it froze, landing when it wakes, silo-a puts
        // right at its next round), so the group's offsets end where silo-a left them.
        // (No requests meanwhile: a balancer without health checks sends some to the frozen silo, which cannot answer.)
        var frozen = Stopwatch.StartNew();
        cluster.FreezeSilo("silo-d");
        await WaitForQueuesAsync(cluster, owners => owners.SequenceEqual(["silo-a"]), "silo-a pulls every partition of the frozen silo-d");
        var takeover = frozen.Elapsed;
        await load.WaitForMoreAsync(3000);
        await load.StopAsync();
        await cluster.WaitForStoredAsync(cluster.EndOffsets(topics.Readings), Timeout, "all readings");
        var settled = cluster.Committed(topics.Readings);
        cluster.ThawSilo("silo-d");
        await cluster.WaitForExitOrStopAsync("silo-d", TimeSpan.FromSeconds(30));
        await Poll.UntilAsync(() => Task.FromResult(cluster.Committed(topics.Readings).OrderBy(p => p.Key).SequenceEqual(settled.OrderBy(p => p.Key))),
            Timeout, "the group's offsets where silo-a left them", () => Task.FromResult(string.Join(", ", cluster.Committed(topics.Readings))));
        Assert.Equal(settled, cluster.Committed(topics.Readings));

        // Through the balancer, every look at a thermostat was answered with its state, through the join, the stop and
        // the kill alike: a request for a controller on the killed silo waited until the cluster had moved it.
        foreach (var (what, all) in new[] { ("any thermostat", answers), ("silo-c's thermostats and the cluster", victimAnswers) })
        {
            var failed = all.Where(a => a.Status != 200).ToList();
            Assert.True(failed.Count == 0, $"{failed.Count} of {all.Count} requests for {what} through nginx failed, first: {failed.FirstOrDefault()}");
        }

        Assert.Equal(["silo-a", "silo-b", "silo-c", "silo-d"], answers.Select(a => a.ServedBy!).Distinct().Order());
        var api = $"cluster under load through nginx: {answers.Count} requests for any thermostat and {victimAnswers.Count} for {onVictim.Count} " +
                  $"of the killed silo's thermostats and the cluster view, all answered 200; the slowest {answers.Max(a => a.Took).TotalSeconds:F2} s and " +
                  $"{victimAnswers.Max(a => a.Took).TotalSeconds:F2} s (waiting for the cluster to declare the silo dead)";
        output.WriteLine(api);
        TestArtifacts.Record(api);
        var recovery = $"cluster under load ({load.Sent} readings, {2 * partitions} partitions, 4 silos, probe timeout 2 s, commit 100 ms): " +
                       $"every partition processing again {graceful.TotalSeconds:F2} s after a graceful stop, {crash.TotalSeconds:F2} s after a kill; " +
                       $"a frozen silo's partitions pulled elsewhere {takeover.TotalSeconds:F2} s after it froze";
        output.WriteLine(recovery);
        TestArtifacts.Record(recovery);

        // Every partition is pulled by exactly one live silo, and the event log tells each silo's story.
        var view = await WaitForQueuesAsync(cluster, owners => owners.SequenceEqual(["silo-a"]), "silo-a pulls every partition");
        Assert.Equal(2 * partitions, view.GetProperty("queues").EnumerateArray().Count(q => q.GetProperty("owner").GetString() is "silo-a"));
        var statuses = view.GetProperty("silos").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("status").GetString());
        Assert.Equal(("active", "dead", "dead", "dead"), (statuses["silo-a"], statuses["silo-b"], statuses["silo-c"], statuses["silo-d"]));
        var events = view.GetProperty("events").EnumerateArray().Reverse().ToList();
        string[] Story(string silo) => events.Where(e => e.GetProperty("silo").GetString() == silo && e.GetProperty("kind").GetString() != "queues")
            .Select(e => e.GetProperty("kind").GetString()!).Where(k => k != "joining").ToArray();
        Assert.Equal(["active", "shutting-down", "dead"], Story("silo-b"));
        Assert.Equal(["active", "dead"], Story("silo-c"));
        Assert.Equal(["active", "dead"], Story("silo-d"));
        Assert.Contains(events, e => e.GetProperty("silo").GetString() == "silo-d" && e.GetProperty("kind").GetString() == "queues");

        // Stopped gracefully, the last silo writes what it holds; then every state is what one in-memory replay produces.
        await cluster.StopSiloAsync("silo-a");
        await ReplayAssertions.StatesMatchAsync(fleet.Replay, ids, id => StoredStates.ThermostatInPostgresAsync(cluster.DatabaseConnectionString, id));
        var duplicates = ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout);

        // Nothing valid was dead-lettered.
        Assert.Empty(TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout));
        var published = $"cluster under load: {fleet.Replay.Commands.Count + duplicates} commands published, {duplicates} of them duplicates (at-least-once, same seq)";
        output.WriteLine(published);
        TestArtifacts.Record(published);
    }

    [Fact]
    public async Task FrozenSilo_ThatLostItsGrains_CannotWriteStaleStateWhenItWakes()
    {
        const int partitions = 4;
        var topics = kafka.CreateTopics(partitions);
        var ids = Enumerable.Range(0, 40).Select(i => $"z-{i}").ToList();
        await using var cluster = await TestCluster.CreateAsync(kafka, topics, output);
        // A slow write-behind, so that silo-a holds unsaved measurements when it freezes.
        var stale = await cluster.StartSiloAsync("silo-a", new Dictionary<string, string?> { ["Grains:WriteBehindInterval"] = "00:10:00" });
        using var fleet = new Fleet(kafka, topics);
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), cluster, Timeout, "settings, stored by silo-a");
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 18, Fleet.Clock)));
        await cluster.WaitForStoredAsync(cluster.EndOffsets(topics.Readings), Timeout, "first readings, stored by silo-a");

        // Work silo-a does but has not written: readings inside the band change only the measurement.
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 20.9, Fleet.Clock.AddMinutes(1))));
        await cluster.WaitForStoredAsync(cluster.EndOffsets(topics.Readings), Timeout, "second readings, delivered on silo-a");
        stale.Freeze();

        // silo-b joins; Orleans declares the frozen silo dead and moves its queues and grains to silo-b, which goes further.
        await cluster.StartSiloAsync("silo-b");
        await WaitForQueuesAsync(cluster, owners => owners.SequenceEqual(["silo-b"]), "silo-b pulls every partition");
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 25, Fleet.Clock.AddMinutes(2))));
        await cluster.WaitForStoredAsync(cluster.EndOffsets(topics.Readings), Timeout, "third readings, stored by silo-b");
        var before = new Dictionary<string, ThermostatState?>();
        foreach (var id in ids)
        {
            before[id] = await StoredStates.ThermostatInPostgresAsync(cluster.DatabaseConnectionString, id);
        }

        // silo-a wakes with stale activations and learns it was declared dead. Whatever it tries to write is refused
        // (the stored version moved on), so the stored states stay silo-b's: unless it applied the same readings before it
        // learnt, whose state carries on from silo-b's (the same inputs applied, the same commands) and may replace it,
        // listing fewer of the commands both published as unpublished.
        stale.Thaw();
        try
        {
            await stale.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            await cluster.StopSiloAsync("silo-a");
        }

        foreach (var id in ids)
        {
            var stored = await StoredStates.ThermostatInPostgresAsync(cluster.DatabaseConnectionString, id);
            Assert.NotNull(stored);
            Assert.Equal((25.0, HeaterAction.Off, 2L), (stored.LastMeasurement, stored.Heater, stored.Seq));
            var expected = before[id]!;
            Assert.All(stored.Unpublished ?? [], c => Assert.Contains(c, expected.Unpublished ?? []));
            (stored.Unpublished, expected.Unpublished) = (null, null);
            Assert.Equal(JsonSerializer.Serialize(expected), JsonSerializer.Serialize(stored));
        }
    }

    /// <summary>
    /// Runs <paramref name="disrupt"/> while readings flow and returns the time until every partition is processing
    /// again: its committed checkpoint has moved past where it stood once the disruption was over (for a graceful
    /// stop, after the stopping silo's own final commit).
    /// </summary>
    private static async Task<TimeSpan> MeasureRecoveryAsync(TestCluster cluster, Func<Task> disrupt)
    {
        var clock = Stopwatch.StartNew();
        await disrupt();
        var baseline = cluster.Committed(cluster.Topics.Readings);
        await Poll.UntilAsync(
            () => Task.FromResult(cluster.Committed(cluster.Topics.Readings).All(c => c.Value > baseline[c.Key])),
            Timeout, "every partition processing again");
        return clock.Elapsed;
    }

    /// <summary>Those of <paramref name="ids"/> whose controllers <paramref name="silo"/> hosts, asked through the API.</summary>
    private static async Task<List<string>> HostedOnAsync(Uri api, IEnumerable<string> ids, string silo)
    {
        using var http = TestApiKeys.Client(api, timeout: TimeSpan.FromSeconds(30));
        var hosted = new List<string>();
        foreach (var id in ids)
        {
            var state = await http.GetFromJsonAsync<JsonElement>(ApiProbe.Thermostat(id));
            if (state.GetProperty("owner").GetString() == silo)
            {
                hosted.Add(id);
            }
        }

        Assert.True(hosted.Count > 0, $"{silo} hosts none of the thermostats asked");
        return hosted;
    }

    /// <summary>Waits until the silos pulling the queues (every queue owned) satisfy <paramref name="owners"/>; returns the view.</summary>
    private static async Task<JsonElement> WaitForQueuesAsync(TestCluster cluster, Func<IReadOnlyList<string>, bool> owners, string what)
    {
        JsonElement view = default;
        await Poll.UntilAsync(async () =>
        {
            view = await cluster.ClusterViewAsync();
            var queues = view.GetProperty("queues").EnumerateArray().Select(q => q.GetProperty("owner").GetString()).ToList();
            return queues.All(o => o is not null) && owners(queues.OfType<string>().Distinct().Order().ToList());
        }, Timeout, what, () => Task.FromResult(view.ValueKind == JsonValueKind.Undefined ? "" : view.GetProperty("queues").ToString()));
        return view;
    }
}
