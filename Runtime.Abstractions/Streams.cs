namespace Hearth.Runtime;

/// <summary>
/// Implemented by a grain that receives messages of type <typeparamref name="T"/> from an input stream
/// (the Orleans implicit subscription: every message keyed by the grain's key reaches it, in order).
/// </summary>
public interface IStreamSubscriber<in T>
{
    /// <summary>Handles one message. Messages of one key arrive one at a time, in stream order.</summary>
    ValueTask OnNextAsync(T item, StreamPosition position);
}

/// <summary>Where a message came from.</summary>
/// <param name="Timestamp">The Kafka message timestamp.</param>
public readonly record struct StreamPosition(string Topic, int Partition, long Offset, DateTimeOffset Timestamp);

/// <summary>A stream a grain publishes to. Items are keyed by the publishing grain's key.</summary>
public interface IOutputStream<in T>
{
    /// <summary>
    /// Publishes an item. Publishing is at-least-once: the item is delivered before the input that caused
    /// it is acknowledged, and may be published again if that input is processed again after a crash.
    /// </summary>
    ValueTask OnNextAsync(T item);
}

/// <summary>Turns a Kafka message into a stream item.</summary>
public interface IMessageDecoder<T>
{
    /// <summary>Decodes one message.</summary>
    /// <param name="key">The message key (the grain key, UTF-8).</param>
    /// <param name="value">The message value.</param>
    /// <param name="timestamp">The Kafka message timestamp.</param>
    /// <param name="item">The decoded item, on success.</param>
    /// <param name="error">Why the message is malformed, on failure; it goes to the dead-letter topic with this reason.</param>
    bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset timestamp, out T? item, out string? error);
}

/// <summary>Turns a stream item into a Kafka message value.</summary>
public interface IMessageEncoder<in T>
{
    byte[] Encode(T item);
}
