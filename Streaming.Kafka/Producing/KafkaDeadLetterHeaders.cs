using System.Text;
using Confluent.Kafka;

namespace Hearth.Streaming.Kafka.Producing;

/// <summary>
/// Headers on a dead letter: the original key, value and headers are kept, and these say why and where
/// from. Values are UTF-8 text.
/// </summary>
public static class KafkaDeadLetterHeaders
{
    /// <summary>Why the message was rejected.</summary>
    public const string Error = "hearth-error";

    /// <summary>The topic it was read from.</summary>
    public const string SourceTopic = "hearth-source-topic";

    /// <summary>The partition it was read from.</summary>
    public const string SourcePartition = "hearth-source-partition";

    /// <summary>Its offset there.</summary>
    public const string SourceOffset = "hearth-source-offset";

    /// <summary>
    /// Present when the original was too large to carry these headers and was cut to fit: its sizes in bytes,
    /// <c>value=&lt;bytes&gt;,key=&lt;bytes&gt;</c>, and <c>,headers=&lt;count&gt;</c> when its own headers were left out
    /// too. What is kept of the value and key is their beginning.
    /// </summary>
    public const string Truncated = "hearth-truncated";

    /// <summary>Reads a header as UTF-8 text (the last one of that name), or null.</summary>
    public static string? GetText(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
}
