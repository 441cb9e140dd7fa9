using Confluent.Kafka;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// What the bytes of a topic mean: turns a consumed Kafka message into an event, and an event published to a
/// stream into the bytes of a Kafka message. The provider is generic; a data adapter is where an application's
/// wire format lives.
/// </summary>
/// <remarks>
/// Every partition of an input topic is one stream (see <see cref="Hosting.KafkaStreamOptions.StreamOf"/>), whose events
/// are the partition's decoded messages in offset order: an event carries whatever its consumer needs to tell
/// messages apart (their key, their position). Called concurrently from every partition: implementations must
/// be thread-safe.
/// </remarks>
public interface IKafkaDataAdapter
{
    /// <summary>
    /// Decodes one consumed message. A message that cannot be decoded is answered with
    /// <see cref="KafkaDecodeResult.Reject"/>: the provider publishes it to the dead-letter topic with that
    /// reason and moves on. Never throw for bad input.
    /// </summary>
    KafkaDecodeResult Decode(in KafkaMessage message);

    /// <summary>The Kafka message value for an event published to <paramref name="streamId"/>; the key is the stream key.</summary>
    byte[] Encode<T>(StreamId streamId, T item);
}

/// <summary>A consumed Kafka message, valid for the duration of <see cref="IKafkaDataAdapter.Decode"/>.</summary>
public readonly ref struct KafkaMessage
{
    public KafkaMessage(string topic, string topicId, int partition, long offset, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        bool hasKey, DateTimeOffset timestamp, Headers? headers)
    {
        Topic = topic;
        TopicId = topicId;
        Partition = partition;
        Offset = offset;
        Key = key;
        Value = value;
        HasKey = hasKey;
        Timestamp = timestamp;
        Headers = headers;
    }

    public string Topic { get; }

    /// <summary>
    /// Which life of the topic the offset counts in (see <see cref="Hosting.KafkaStreamOptions.LogIncarnation"/>): offsets are
    /// comparable only between messages of the same topic id. Empty when nothing tells lives apart.
    /// </summary>
    public string TopicId { get; }

    public int Partition { get; }

    public long Offset { get; }

    /// <summary>The key bytes (empty when the message has none, see <see cref="HasKey"/>).</summary>
    public ReadOnlySpan<byte> Key { get; }

    /// <summary>The value bytes (empty for a null value).</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Whether the message has a key at all (a null key and an empty key differ in Kafka).</summary>
    public bool HasKey { get; }

    /// <summary>The Kafka message timestamp.</summary>
    public DateTimeOffset Timestamp { get; }

    public Headers? Headers { get; }
}

/// <summary>Either the event a message becomes, or why it cannot become one.</summary>
public readonly struct KafkaDecodeResult
{
    private KafkaDecodeResult(object? item, string? error)
    {
        Item = item;
        Error = error;
    }

    /// <summary>The event, when decoded.</summary>
    public object? Item { get; }

    /// <summary>Why the message was rejected, in words an operator can act on.</summary>
    public string? Error { get; }

    public bool IsSuccess => Error is null;

    /// <summary>The message is <paramref name="item"/>, an event of its partition's stream.</summary>
    public static KafkaDecodeResult Event(object item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return new(item, null);
    }

    /// <summary>The message is malformed; it goes to the dead-letter topic with <paramref name="reason"/>.</summary>
    public static KafkaDecodeResult Reject(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(null, reason);
    }
}
