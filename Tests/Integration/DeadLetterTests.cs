using System.Globalization;
using System.Text;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Streaming.Kafka.Producing;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

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

    public void Dispose() => _directory.Dispose();
}
