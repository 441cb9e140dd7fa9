using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace Hearth.Runtime.Processing;

/// <summary>Kafka headers the runtime adds to messages it re-publishes.</summary>
public static class MessageHeaders
{
    /// <summary>On a dead letter: why the message was rejected.</summary>
    public const string Error = "hearth-error";

    /// <summary>On a dead letter: the topic it was read from.</summary>
    public const string SourceTopic = "hearth-source-topic";

    /// <summary>On a dead letter: the partition it was read from.</summary>
    public const string SourcePartition = "hearth-source-partition";

    /// <summary>On a dead letter: its offset there.</summary>
    public const string SourceOffset = "hearth-source-offset";

    /// <summary>
    /// On a message found on a partition other than its key's and forwarded to the right one:
    /// <c>topic/partition/offset</c> of the original. Lets the receiver drop a copy forwarded twice.
    /// </summary>
    public const string ForwardedFrom = "hearth-forwarded-from";

    /// <summary>Reads a header as UTF-8 text (the last one of that name), or null.</summary>
    public static string? GetText(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;

    internal static void AddText(Headers headers, string name, string value) => headers.Add(name, Encoding.UTF8.GetBytes(value));

    internal static string FormatOrigin(string topic, int partition, long offset) =>
        string.Create(CultureInfo.InvariantCulture, $"{topic}/{partition}/{offset}");

    internal static bool TryParseOrigin(string? text, out string topic, out int partition, out long offset)
    {
        topic = "";
        partition = 0;
        offset = 0;
        if (text is null)
        {
            return false;
        }

        var last = text.LastIndexOf('/');
        var middle = last > 0 ? text.LastIndexOf('/', last - 1) : -1;
        if (middle <= 0 ||
            !int.TryParse(text.AsSpan(middle + 1, last - middle - 1), NumberStyles.None, CultureInfo.InvariantCulture, out partition) ||
            !long.TryParse(text.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out offset))
        {
            return false;
        }

        topic = text[..middle];
        return true;
    }
}
