using System.Diagnostics;
using System.Text;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

/// <summary>
/// Topics that change under a running silo. The embedded broker can delete a topic and create it again, but it adds no
/// partitions to a topic and gives no topic ids, so the silo is told of those by a stand-in for Kafka's metadata
/// (<see cref="StubTopicMetadata"/>): it starts knowing fewer partitions than the broker's topic has, or topic ids the
/// broker never gave.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class TopicChangeTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task PartitionsAddedToALiveTopic_ArePulledWithinTheRefreshInterval_AndWhatTheyCarryIsApplied()
    {
        var topics = kafka.CreateTopics(partitions: 4);
        var metadata = new StubTopicMetadata();
        metadata.Partitions[topics.Readings] = 2;
        metadata.Partitions[topics.Settings] = 2;
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("grow.db"), output,
            new Dictionary<string, string?> { ["Kafka:TopicRefreshInterval"] = RefreshInterval.ToString() },
            services: s => s.AddKeyedSingleton<IKafkaTopicMetadata>(ThermostatStreams.Provider, metadata));
        Assert.Equal(2 + 2, silo.Kafka.Partitions().Count);

        // Producers see the broker's four partitions: these thermostats' input lands on partitions 2 and 3 only.
        var ids = Enumerable.Range(0, 200).Select(i => $"g-{i}")
            .Where(id => KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(id), 4) >= 2).Take(12).ToList();
        fleet.PublishInOrder(ids.Select(id => (ThermostatMessage)new ThermostatSetting(id, 21, 0.5, 0.5)));
        var ends = kafka.EndOffsets(topics.Settings);
        Assert.True(ends.Where(e => e.Key.Partition.Value >= 2).All(e => e.Value > 0) && ends.Where(e => e.Key.Partition.Value < 2).All(e => e.Value == 0));
        // A refresh that still tells of two partitions adds nothing.
        await metadata.NextReadAsync("partitions", Timeout);
        await metadata.NextReadAsync("partitions", Timeout);
        Assert.Equal(2 + 2, silo.Kafka.Partitions().Count);

        metadata.Partitions[topics.Readings] = 4;
        metadata.Partitions[topics.Settings] = 4;
        var told = Stopwatch.StartNew();
        await Poll.UntilAsync(() => Task.FromResult(silo.Kafka.Partitions().Count == 4 + 4), Timeout, "every partition pulled",
            () => Task.FromResult(string.Join(", ", silo.Kafka.Partitions().Select(p => $"{p.Topic}[{p.Partition}]"))));
        output.WriteLine($"The new partitions were pulled {told.Elapsed.TotalSeconds:0.0} s after the metadata told of them (refresh interval {RefreshInterval}).");
        Assert.Equal([(topics.Readings, 4), (topics.Settings, 4)], silo.Kafka.Topics.Order());

        await silo.WaitForStoredAsync(ends, Timeout, "settings on the new partitions");
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 2));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings on the new partitions");

        Assert.Equal(ids.Count * 3, fleet.Replay.Commands.Count);
        Assert.Equal(fleet.Replay.Commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq), ReadCommands(topics).OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq));
    }

    [Fact]
    public async Task ATopicDeletedAndCreatedAgain_IsReadAsANewOne_AndItsInputIsApplied_ThoughItsOffsetsStartOver()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var metadata = new StubTopicMetadata();
        metadata.Partitions[topics.Readings] = 2;
        metadata.Partitions[topics.Settings] = 2;
        metadata.TopicIds[topics.Readings] = "readings-life-1";
        metadata.TopicIds[topics.Settings] = "settings-life-1";
        var ids = Enumerable.Range(0, 8).Select(i => $"r-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("recreate.db"), output,
            new Dictionary<string, string?> { ["Kafka:TopicRefreshInterval"] = RefreshInterval.ToString() },
            services: s => s.AddKeyedSingleton<IKafkaTopicMetadata>(ThermostatStreams.Provider, metadata));

        // The topics' first life: a setting per thermostat, then readings that swing each across its band three times.
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout, "first life's settings");
        fleet.PublishReadings(Fleet.Swinging(ids, 21, swings: 3));
        var firstReadings = kafka.EndOffsets(topics.Readings);
        var firstSettings = kafka.EndOffsets(topics.Settings);
        await silo.WaitForStoredAsync(firstReadings, Timeout, "first life's readings");
        var firstCommands = fleet.Replay.Commands.Count;

        // Both input topics are deleted and created again, and Kafka gives them new topic ids (told by the stub: the
        // embedded broker gives none).
        foreach (var topic in new[] { topics.Readings, topics.Settings })
        {
            kafka.Cluster.DeleteTopic(topic);
            kafka.Cluster.CreateTopic(topic, topics.Partitions);
        }

        metadata.TopicIds[topics.Readings] = "readings-life-2";
        metadata.TopicIds[topics.Settings] = "settings-life-2";

        // The second life's input, from a producer that never knew the first (the same keys land on the same
        // partitions): fewer messages than the first life's, so every offset is one the controllers applied before.
        using var secondFleet = new Fleet(kafka, topics);
        var settings = ids.Select(id => new ThermostatSetting(id, 30, 0.5, 0.5)).ToList();
        secondFleet.PublishInOrder(settings);
        Assert.Equal(firstSettings, kafka.EndOffsets(topics.Settings));
        await Poll.UntilAsync(
            async () => (await Task.WhenAll(ids.Select(id => StatusAsync(silo, id)))).All(s => s?.Setpoint == 30), Timeout, "the second life's settings applied",
            async () => string.Join(", ", (await Task.WhenAll(ids.Select(id => StatusAsync(silo, id)))).Select(s => $"{s?.ThermostatId} {s?.Setpoint}")));
        var readings = Fleet.Swinging(ids, 30, swings: 2).ToList();
        secondFleet.PublishReadings(readings);
        var secondReadings = kafka.EndOffsets(topics.Readings);
        Assert.All(secondReadings, end => Assert.InRange(end.Value, 1, firstReadings[end.Key] - 1));
        foreach (var input in settings.Cast<ThermostatMessage>().Concat(readings))
        {
            fleet.Replay.Apply(input);
        }

        // Every input of the second life is applied: the commands go on where the first life's ended, and the
        // checkpoints count in the new topics.
        Assert.True(fleet.Replay.Commands.Count > firstCommands);
        await Poll.UntilAsync(() => Task.FromResult(ReadCommands(topics).Count >= fleet.Replay.Commands.Count), Timeout, "the second life's commands",
            () => Task.FromResult($"{ReadCommands(topics).Count} of {fleet.Replay.Commands.Count}"));
        Assert.Equal(fleet.Replay.Commands.OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq), ReadCommands(topics).OrderBy(c => c.ThermostatId).ThenBy(c => c.Seq));
        await silo.WaitForStoredAsync(secondReadings, Timeout, "second life's readings");
        var checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);
        Assert.Equal(secondReadings.Where(e => e.Value > 0).ToDictionary(), checkpoints.Committed(secondReadings.Keys).Where(c => secondReadings[c.Key] > 0).ToDictionary());

        // The operator is told: every input partition started over on its topic's new life.
        var startedOver = silo.Logs.Of<KafkaQueueReceiver>(LogLevel.Warning).Where(e => e.Message.Contains("] starts over: ", StringComparison.Ordinal)).ToList();
        output.WriteLine(string.Join(Environment.NewLine, startedOver.Select(e => e.Message)));
        Assert.Equal(2 * topics.Partitions, startedOver.Count);
        Assert.All(startedOver, e => Assert.Contains("-life-2", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACheckpointBeyondAPartitionsEnd_IsTakenForAnOlderTopics_AndThePartitionIsPulledFromItsBeginning()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 8).Select(i => $"c-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        // Settings in the topic, and in the group the checkpoints of a topic of the same name that held far more (committed
        // by a silo after the topic was deleted, say).
        fleet.PublishInOrder(ids.Select(id => (ThermostatMessage)new ThermostatSetting(id, 22, 0.5, 0.5)));
        var ends = kafka.EndOffsets(topics.Settings);
        var checkpoints = new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId);
        checkpoints.Commit(ends.Keys.Select(p => KeyValuePair.Create(p, 1000L)));

        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("beyond.db"), output);

        await Poll.UntilAsync(
            async () => (await Task.WhenAll(ids.Select(id => StatusAsync(silo, id)))).All(s => s?.Setpoint == 22), Timeout, "the settings applied");
        // The partitions' starts are committed in the old checkpoints' place.
        await Poll.UntilAsync(() => Task.FromResult(checkpoints.Committed(ends.Keys).All(c => c.Value == ends[c.Key])), Timeout, "the checkpoints at the ends",
            () => Task.FromResult(string.Join(", ", checkpoints.Committed(ends.Keys).Select(c => $"{c.Key.Partition.Value}: {c.Value} of {ends[c.Key]}"))));
        var told = silo.Logs.Of<KafkaQueueReceiver>(LogLevel.Warning).Where(e => e.Message.Contains("lies beyond its end", StringComparison.Ordinal)).ToList();
        Assert.Equal(topics.Partitions, told.Count);
        Assert.All(told, e => Assert.StartsWith("The committed offset 1000 of settings-", e.Message, StringComparison.Ordinal));
    }

    public void Dispose() => _directory.Dispose();

    private static Task<ThermostatStatus?> StatusAsync(TestSilo silo, string id) =>
        silo.Grains.GetGrain<IThermostatControllerGrain>(ThermostatKeys.GrainKey(id)).GetStatusAsync();

    private List<HeaterCommand> ReadCommands(TestTopics topics) =>
        TopicReader.ReadAll(kafka.BootstrapServers, topics.Commands, Timeout)
            .Select(r => ThermostatJson.DecodeCommand(r.Message.Value).Value ?? throw new InvalidOperationException("undecodable command"))
            .ToList();
}
