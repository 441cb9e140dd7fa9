using System.Globalization;
using System.Text;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Silo.Cluster;
using Hearth.Streaming.Kafka.Producing;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Tests.Integration;

/// <summary>
/// A dead letter can always be written, or its partition waits visibly: an original too large to carry the dead letter's
/// headers is cut to fit, and a dead-letter topic that refuses holds the partition's checkpoint (and, past a bound, its
/// reading) while the silo says why, and loses nothing.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class DeadLetterTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task AnUndecodableMessageTooLargeToCarryItsDeadLetterHeaders_IsDeadLetteredCut_WithAHeaderSayingSo_AndThePartitionGoesOn()
    {
        const int maxBytes = 10_000;
        var topics = kafka.CreateTopics(partitions: 1);
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("large.db"), output, new Dictionary<string, string?>
        {
            ["Kafka:ProducerProperties:message.max.bytes"] = maxBytes.ToString(CultureInfo.InvariantCulture),
        });
        await fleet.PublishSettingsAsync([new ThermostatSetting("big-1", 21, 0.5, 0.5)], silo, Timeout);

        // Not JSON, and as large as the silo's producer takes: with the dead letter's headers it is larger.
        var poison = Encoding.ASCII.GetBytes("{" + new string('x', maxBytes - 200));
        fleet.PublishRaw(topics.Readings, "big-1", poison);
        fleet.PublishReadings([new ThermostatReading("big-1", 18, Fleet.Clock)]);
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "the large poison message and the reading after it");

        var letter = Assert.Single(TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout));
        Assert.Equal("big-1", letter.Message.Key);
        Assert.Equal($"value={poison.Length},key=5", KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.Truncated));
        Assert.InRange(letter.Message.Value!.Length, maxBytes - 500, poison.Length - 1);
        Assert.Equal(poison[..letter.Message.Value.Length], letter.Message.Value);
        Assert.Contains("invalid JSON", KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal("0", KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.SourceOffset));
        var command = Assert.Single(TopicReader.ReadAll(kafka.BootstrapServers, topics.Commands, Timeout));
        Assert.Equal(new HeaterCommand("big-1", HeaterAction.On, 18, 21, 1, Fleet.Clock), ThermostatJson.DecodeCommand(command.Message.Value).Value);
    }

    [Fact]
    public async Task ADeadLetterTopicThatRefuses_StallsThePartitionVisibly_WhichReadsNoFurtherThanItsCache_AndGoesOnLosingNothingOnceItTakesThem()
    {
        const int cacheSize = 20, readSize = 5, poisonCount = 50;
        var topics = kafka.CreateTopics(partitions: 1);
        var ids = Enumerable.Range(0, 5).Select(i => $"dl-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("refused.db"), output, new Dictionary<string, string?>
        {
            ["Kafka:CacheSize"] = cacheSize.ToString(CultureInfo.InvariantCulture),
            ["Kafka:MaxBatchSize"] = readSize.ToString(CultureInfo.InvariantCulture),
        });
        var health = silo.Services.GetRequiredService<HealthCheckService>();
        var view = silo.Services.GetRequiredService<ClusterView>();
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);

        // The dead-letter topic refuses this client; undecodable messages arrive, then readings that switch every heater on.
        kafka.Cluster.SetTopicError(topics.DeadLetter, ErrorCode.TopicAuthorizationFailed);
        try
        {
            for (var i = 0; i < poisonCount; i++)
            {
                fleet.PublishRaw(topics.Readings, ids[i % ids.Count], Encoding.UTF8.GetBytes($"{{not json {i}"));
            }

            fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 18, Fleet.Clock)));

            // The silo says which partition waits and why: its health, and the cluster view (the dashboard's "waiting").
            await Poll.UntilAsync(
                async () => (await view.GetAsync(CancellationToken.None)).Silos.Any(s => s.Stalls.Any(stall => stall.Topic == topics.Readings)),
                Timeout, "the cluster view showing the partition waiting for its dead letters");
            var stall = Assert.Single((await view.GetAsync(CancellationToken.None)).Silos.SelectMany(s => s.Stalls));
            Assert.Equal((topics.Readings, 0), (stall.Topic, stall.Partition));
            Assert.Contains(topics.DeadLetter, stall.Reason, StringComparison.Ordinal);
            Assert.Contains("TopicAuthorizationFailed", stall.Reason, StringComparison.Ordinal);
            var report = (await health.CheckHealthAsync()).Entries["silo"];
            Assert.Equal(HealthStatus.Degraded, report.Status);
            Assert.Contains($"{topics.Readings}[0] has been waiting", report.Description, StringComparison.Ordinal);
            Assert.Contains("TopicAuthorizationFailed", report.Description, StringComparison.Ordinal);

            // Its checkpoint waits at the first dead letter, and it has read no further than its cache holds (one read
            // past it at most): the readings behind the dead letters wait in Kafka, not in memory.
            var partition = Assert.Single(silo.Kafka.Partitions(), p => p.Topic == topics.Readings);
            Assert.Equal(0, partition.Checkpoint);
            Assert.InRange(partition.Received, cacheSize, cacheSize + readSize - 1);
            Assert.Equal(0, silo.Metrics.Totals.Commands);
        }
        finally
        {
            kafka.Cluster.SetTopicError(topics.DeadLetter, ErrorCode.NoError);
        }

        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "everything, once the dead-letter topic takes the dead letters");

        // Every undecodable message was dead-lettered once, and every heater switched on.
        var letters = TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout);
        Assert.Equal(Enumerable.Range(0, poisonCount).Select(i => (long)i),
            letters.Select(l => long.Parse(KafkaDeadLetterHeaders.GetText(l.Message.Headers, KafkaDeadLetterHeaders.SourceOffset)!, CultureInfo.InvariantCulture)).Order());
        ReplayAssertions.CommandsMatch(fleet.Replay, ids, kafka.BootstrapServers, topics.Commands, Timeout);
        Assert.Empty(silo.Kafka.Stalls());
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        // The operator was told once when the dead letters started failing and once when they went through, not at every attempt.
        var refused = Assert.Single(silo.Logs.Of<KafkaPublisher>(LogLevel.Error));
        Assert.Contains($"Dead letters of {topics.Readings}[0] cannot be published to {topics.DeadLetter}", refused.Message, StringComparison.Ordinal);
        Assert.Single(silo.Logs.Of<KafkaPublisher>(LogLevel.Information), e => e.Message.Contains("published to", StringComparison.Ordinal) && e.Message.Contains("again", StringComparison.Ordinal));
    }

    public void Dispose() => _directory.Dispose();
}
