using Confluent.Kafka;

namespace Hearth.Streaming.Kafka.Receiving;

/// <summary>
/// A deserializer that copies the bytes it is given into a buffer it reuses, instead of allocating an array per message:
/// a partition's fetcher reads the key and the value from its two captures once the consume call has returned (with the
/// offset and timestamp the data adapter needs too). One per consumer; valid until that consumer's next consume call.
/// </summary>
internal sealed class CapturedBytes : IDeserializer<CapturedBytes.Marker>
{
    /// <summary>Buffers grown for an unusually large message are given back above this size after use.</summary>
    private const int KeptCapacity = 64 * 1024;

    private byte[] _buffer = new byte[256];

    /// <summary>The bytes captured last (empty when the message had none).</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public int Length { get; private set; }

    /// <summary>Whether the message had no key (or no value) at all, which Kafka tells apart from an empty one.</summary>
    public bool IsNull { get; private set; }

    public Marker Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        if (data.Length > _buffer.Length)
        {
            _buffer = new byte[Math.Max(data.Length, _buffer.Length * 2)];
        }

        data.CopyTo(_buffer);
        Length = data.Length;
        IsNull = isNull;
        return default;
    }

    /// <summary>A copy of the captured bytes (null when there were none), for the rare message kept as it was.</summary>
    public byte[]? ToArray() => IsNull ? null : Span.ToArray();

    /// <summary>Gives back a buffer grown for a large message.</summary>
    public void Trim()
    {
        if (_buffer.Length > KeptCapacity)
        {
            _buffer = new byte[256];
            Length = 0;
        }
    }

    /// <summary>What the consumer returns in place of the bytes (they are in the capture).</summary>
    public readonly struct Marker;
}
