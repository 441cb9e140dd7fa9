using System.Text;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Producing;

namespace Hearth.Tests.Unit;

/// <summary>
/// A dead letter is the original with the reason and origin added, and always fits what Kafka takes: an original too
/// large to carry the added headers loses the end of its value first, then of its key, then its own headers, and says so.
/// </summary>
public sealed class KafkaDeadLetterTests
{
    private static readonly TopicPartition Source = new("readings", 3);

    [Fact]
    public void AnOriginalThatFits_KeepsItsKeyValueAndHeaders_AndIsNotMarkedTruncated()
    {
        var original = Original(key: 10, value: 100, ("trace", 20));

        var letter = KafkaDeadLetter.Build(original, Source, "invalid JSON", 1_000);

        Assert.Equal(original.Message.Key, letter.Key);
        Assert.Equal(original.Message.Value, letter.Value);
        Assert.Equal(original.Message.Headers[0].GetValueBytes(), letter.Headers.GetLastBytes("trace"));
        Assert.Equal("invalid JSON", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.Error));
        Assert.Equal("readings", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.SourceTopic));
        Assert.Equal("3", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.SourcePartition));
        Assert.Equal("42", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.SourceOffset));
        Assert.Null(KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.Truncated));
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(10_000)]
    [InlineData(1_000_000)]
    public void AnOriginalJustUnderTheLimit_LosesTheEndOfItsValue_KeepingItsKeyAndHeaders(int maxBytes)
    {
        var original = Original(key: 36, value: maxBytes - 200, ("trace", 20));

        var letter = KafkaDeadLetter.Build(original, Source, "invalid JSON", maxBytes);

        Assert.InRange(KafkaDeadLetter.MaxSize(letter), maxBytes - 100, maxBytes);
        Assert.Equal(original.Message.Key, letter.Key);
        Assert.Equal(original.Message.Value![..letter.Value!.Length], letter.Value);
        Assert.InRange(letter.Value.Length, 1, original.Message.Value.Length - 1);
        Assert.Equal(original.Message.Headers[0].GetValueBytes(), letter.Headers.GetLastBytes("trace"));
        Assert.Equal($"value={maxBytes - 200},key=36", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.Truncated));
        Assert.Equal("invalid JSON", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.Error));
    }

    [Fact]
    public void AKeyTooLargeToFit_IsCutOnceTheValueIsGone()
    {
        var original = Original(key: 5_000, value: 5_000);

        var letter = KafkaDeadLetter.Build(original, Source, "no thermostat id", 2_000);

        Assert.InRange(KafkaDeadLetter.MaxSize(letter), 1_900, 2_000);
        Assert.Empty(letter.Value!);
        Assert.Equal(original.Message.Key![..letter.Key!.Length], letter.Key);
        Assert.Equal("value=5000,key=5000", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.Truncated));
    }

    [Fact]
    public void HeadersTooLargeToFit_AreLeftOut_AndTheKeyAndValueGetTheRoom()
    {
        var original = Original(key: 10, value: 500, ("big", 3_000), ("small", 5));

        var letter = KafkaDeadLetter.Build(original, Source, "invalid JSON", 2_000);

        Assert.True(KafkaDeadLetter.MaxSize(letter) <= 2_000);
        Assert.False(letter.Headers.TryGetLastBytes("big", out _));
        Assert.False(letter.Headers.TryGetLastBytes("small", out _));
        Assert.Equal(original.Message.Key, letter.Key);
        Assert.Equal(original.Message.Value, letter.Value);
        Assert.Equal("value=500,key=10,headers=2", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.Truncated));
    }

    [Fact]
    public void AReasonTooLongForTheLimit_IsShortenedOnAWholeCharacter()
    {
        var original = Original(key: 10, value: 10);
        var reason = "the controller failed: " + string.Concat(Enumerable.Repeat("é", 2_000));

        var letter = KafkaDeadLetter.Build(original, Source, reason, 1_000);

        Assert.True(KafkaDeadLetter.MaxSize(letter) <= 1_000);
        var kept = KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.Error)!;
        Assert.EndsWith("...", kept, StringComparison.Ordinal);
        Assert.StartsWith(kept[..^3], reason, StringComparison.Ordinal);
        Assert.InRange(kept.Length, 100, 1_000);
        Assert.Equal("readings", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.SourceTopic));
        Assert.Equal("42", KafkaDeadLetterHeaders.GetText(letter.Headers, KafkaDeadLetterHeaders.SourceOffset));
    }

    [Fact]
    public void ATombstone_StaysWithoutAValue()
    {
        var original = Original(key: 10, value: 0);
        original.Message.Value = null;

        var letter = KafkaDeadLetter.Build(original, Source, "no value", 1_000);

        Assert.Null(letter.Value);
    }

    private static ConsumeResult<byte[]?, byte[]?> Original(int key, int value, params (string Name, int Size)[] headers)
    {
        var message = new Message<byte[]?, byte[]?>
        {
            Key = Encoding.ASCII.GetBytes(new string('k', key)),
            Value = Enumerable.Range(0, value).Select(i => (byte)('a' + (i % 26))).ToArray(),
            Headers = new Headers(),
        };
        foreach (var (name, size) in headers)
        {
            message.Headers.Add(name, new byte[size]);
        }

        return new ConsumeResult<byte[]?, byte[]?> { TopicPartitionOffset = new TopicPartitionOffset(Source, 42), Message = message };
    }
}
