using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Hearth.Streaming.Kafka.Producing;

/// <summary>
/// Builds a dead letter: the original's key, value and headers, with the reason and its origin added as headers
/// (<see cref="KafkaDeadLetterHeaders"/>), no larger than a producer or topic takes.
/// </summary>
/// <remarks>
/// The added headers can make an original that Kafka took too large to take again, and a dead letter Kafka can never
/// take would hold its partition's checkpoint for good. So one that does not fit is cut instead: its value first, then
/// its key, then the original's headers (left out whole), and <see cref="KafkaDeadLetterHeaders.Truncated"/> records what
/// the original was. Only when even the added headers do not fit is the reason shortened.
/// </remarks>
internal static class KafkaDeadLetter
{
    /// <summary>
    /// The most a record adds to its key, value and headers: librdkafka's <c>RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD</c> (36
    /// bytes, what it checks against <c>message.max.bytes</c>), plus a record batch's header (61 bytes), which a broker
    /// counts against a topic's <c>max.message.bytes</c> for a batch of one.
    /// </summary>
    private const int RecordOverhead = 36 + 61;

    /// <summary>The most the two length prefixes of a header take (varints of up to five bytes).</summary>
    private const int HeaderOverhead = 10;

    /// <summary>The longest <see cref="KafkaDeadLetterHeaders.Truncated"/> value: three sizes of up to ten digits.</summary>
    private static readonly int MaxTruncatedLength = "value=,key=,headers=".Length + (3 * 10);

    /// <summary>What is appended to a reason that had to be shortened.</summary>
    private const string Shortened = "...";

    /// <summary>
    /// The dead letter of <paramref name="original"/>, read from <paramref name="source"/>, rejected for <paramref name="reason"/>:
    /// cut as described above so that <see cref="MaxSize"/> of it is at most <paramref name="maxBytes"/>.
    /// </summary>
    public static Message<byte[]?, byte[]?> Build(ConsumeResult<byte[]?, byte[]?> original, TopicPartition source, string reason, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(source);
        var key = original.Message.Key;
        var value = original.Message.Value;
        var headers = original.Message.Headers;
        var origin = Origin(source, original.Offset);
        var error = Encoding.UTF8.GetBytes(reason);
        var room = maxBytes - RecordOverhead - Size(origin) - HeaderSize(KafkaDeadLetterHeaders.Error, error.Length) - Length(key) - Length(value) - Size(headers);
        if (room >= 0)
        {
            return Letter(key, value, headers, error, origin, truncated: null);
        }

        // Everything but the key, value and original headers, which get what room is left, in that order of keeping.
        room = maxBytes - RecordOverhead - Size(origin) - HeaderSize(KafkaDeadLetterHeaders.Truncated, MaxTruncatedLength);
        var errorRoom = room - HeaderSize(KafkaDeadLetterHeaders.Error, 0);
        if (error.Length > errorRoom)
        {
            error = Shorten(error, errorRoom);
        }

        room -= HeaderSize(KafkaDeadLetterHeaders.Error, error.Length);
        var dropHeaders = headers is { Count: > 0 } && Size(headers) > room;
        room -= dropHeaders ? 0 : Size(headers);
        var keptKey = Math.Clamp(room, 0, Length(key));
        var keptValue = Math.Clamp(room - keptKey, 0, Length(value));
        var truncated = string.Create(CultureInfo.InvariantCulture, $"value={Length(value)},key={Length(key)}")
            + (dropHeaders ? string.Create(CultureInfo.InvariantCulture, $",headers={headers!.Count}") : "");
        return Letter(Cut(key, keptKey), Cut(value, keptValue), dropHeaders ? null : headers, error, origin, truncated);
    }

    /// <summary>
    /// The most <paramref name="message"/> can take of a producer's <c>message.max.bytes</c> or a topic's
    /// <c>max.message.bytes</c> (at least what librdkafka counts).
    /// </summary>
    public static int MaxSize(Message<byte[]?, byte[]?> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return RecordOverhead + Length(message.Key) + Length(message.Value) + Size(message.Headers);
    }

    private static Message<byte[]?, byte[]?> Letter(
        byte[]? key, byte[]? value, Headers? original, byte[] error, List<(string Name, byte[] Value)> origin, string? truncated)
    {
        var headers = new Headers();
        foreach (var header in original ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        headers.Add(KafkaDeadLetterHeaders.Error, error);
        foreach (var (name, bytes) in origin)
        {
            headers.Add(name, bytes);
        }

        if (truncated is not null)
        {
            headers.Add(KafkaDeadLetterHeaders.Truncated, Encoding.UTF8.GetBytes(truncated));
        }

        return new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers };
    }

    private static List<(string Name, byte[] Value)> Origin(TopicPartition source, Offset offset) =>
    [
        (KafkaDeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes(source.Topic)),
        (KafkaDeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture))),
        (KafkaDeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes(offset.Value.ToString(CultureInfo.InvariantCulture))),
    ];

    /// <summary>The first <paramref name="room"/> bytes of a reason (ending on a whole character), marked as shortened.</summary>
    private static byte[] Shorten(byte[] reason, int room)
    {
        var mark = Encoding.UTF8.GetBytes(Shortened);
        if (room < mark.Length)
        {
            return [];
        }

        var kept = room - mark.Length;
        while (kept > 0 && (reason[kept] & 0xC0) == 0x80)
        {
            // A continuation byte: the character it belongs to does not fit whole.
            kept--;
        }

        return [.. reason.AsSpan(0, kept), .. mark];
    }

    private static byte[]? Cut(byte[]? bytes, int length) => bytes is null || bytes.Length == length ? bytes : bytes[..length];

    private static int Length(byte[]? bytes) => bytes?.Length ?? 0;

    private static int HeaderSize(string name, int valueLength) => HeaderOverhead + Encoding.UTF8.GetByteCount(name) + valueLength;

    private static int Size(Headers? headers) => headers?.Sum(h => HeaderSize(h.Key, Length(h.GetValueBytes()))) ?? 0;

    private static int Size(List<(string Name, byte[] Value)> headers) => headers.Sum(h => HeaderSize(h.Name, h.Value.Length));
}
