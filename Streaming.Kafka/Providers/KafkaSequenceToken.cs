using System.Globalization;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// The position of an event in Kafka: topic, partition and offset. Tokens order by offset within one partition
/// (one stream); tokens of different partitions are not comparable in any meaningful way (they order by topic and
/// partition).
/// </summary>
[GenerateSerializer, Immutable, Alias("hearth.kafka.token")]
public sealed class KafkaSequenceToken : StreamSequenceToken
{
    public KafkaSequenceToken(string topic, int partition, long offset, int eventIndex = 0)
    {
        Topic = topic;
        Partition = partition;
        SequenceNumber = offset;
        EventIndex = eventIndex;
    }

    [Id(0)]
    public string Topic { get; private set; }

    [Id(1)]
    public int Partition { get; private set; }

    /// <summary>The Kafka offset.</summary>
    [Id(2)]
    public override long SequenceNumber { get; protected set; }

    [Id(3)]
    public override int EventIndex { get; protected set; }

    /// <summary>The Kafka offset.</summary>
    public long Offset => SequenceNumber;

    public override bool Equals(StreamSequenceToken? other) =>
        other is KafkaSequenceToken token && token.SequenceNumber == SequenceNumber && token.EventIndex == EventIndex &&
        token.Partition == Partition && string.Equals(token.Topic, Topic, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as StreamSequenceToken);

    public override int GetHashCode() => HashCode.Combine(Topic, Partition, SequenceNumber, EventIndex);

    public override int CompareTo(StreamSequenceToken? other)
    {
        if (other is null)
        {
            return 1;
        }

        if (other is not KafkaSequenceToken token)
        {
            throw new ArgumentOutOfRangeException(nameof(other), $"A {other.GetType().Name} is not comparable with a Kafka position.");
        }

        var byTopic = string.CompareOrdinal(Topic, token.Topic);
        if (byTopic != 0)
        {
            return byTopic;
        }

        return Partition != token.Partition ? Partition.CompareTo(token.Partition)
            : SequenceNumber != token.SequenceNumber ? SequenceNumber.CompareTo(token.SequenceNumber)
            : EventIndex.CompareTo(token.EventIndex);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Topic}/{Partition}@{SequenceNumber}{(EventIndex == 0 ? "" : "." + EventIndex)}");
}
