using System.Diagnostics;
using System.Text;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

/// <summary>
/// Topics that change under a running silo. The embedded broker can neither add partitions to a topic nor delete one,
/// so the silo is told of the change by a stand-in for Kafka's metadata (<see cref="StubTopicMetadata"/>): it starts
/// knowing fewer partitions than the broker's topic has, or topic ids the broker never gave.
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

    public void Dispose() => _directory.Dispose();

    private List<HeaterCommand> ReadCommands(TestTopics topics) =>
        TopicReader.ReadAll(kafka.BootstrapServers, topics.Commands, Timeout)
            .Select(r => ThermostatJson.DecodeCommand(r.Message.Value).Value ?? throw new InvalidOperationException("undecodable command"))
            .ToList();
}
