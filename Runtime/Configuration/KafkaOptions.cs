namespace Hearth.Runtime.Configuration;

/// <summary>How the silo reaches Kafka. Section <c>Kafka</c>.</summary>
public sealed class KafkaOptions
{
    public const string SectionName = "Kafka";

    public const string DefaultGroupId = "hearth-silos";
    public const int DefaultQueuedMinMessages = 200_000;
    public const int DefaultQueuedMaxMessagesKbytes = 131_072;
    public const int DefaultSessionTimeoutMs = 10_000;
    public const int DefaultLingerMs = 5;

    /// <summary>
    /// <c>host:port[,host:port...]</c> of the Kafka cluster. Empty means the silo hosts an embedded
    /// development broker.
    /// </summary>
    public string? BootstrapServers { get; set; }

    /// <summary>The consumer group all silos of one cluster join.</summary>
    public string GroupId { get; set; } = DefaultGroupId;

    /// <summary>With an embedded broker, a file the silo writes its <c>host:port</c> to.</summary>
    public string? EmbeddedBootstrapFile { get; set; }

    /// <summary>
    /// The broker keeps no data across restarts (the embedded broker). Stored partition offsets then
    /// refer to a log that no longer exists and are discarded at start; grain states are kept.
    /// Set automatically with the embedded broker.
    /// </summary>
    public bool Ephemeral { get; set; }

    /// <summary>
    /// librdkafka <c>queued.min.messages</c>: messages prefetched per partition. The librdkafka default
    /// (100000) makes a fast consumer stall for about a second each time its queue fills.
    /// </summary>
    /// <remarks>Allowed range 1..10000000.</remarks>
    public int QueuedMinMessages { get; set; } = DefaultQueuedMinMessages;

    /// <summary>librdkafka <c>queued.max.messages.kbytes</c>: prefetch memory bound per consumer.</summary>
    /// <remarks>Allowed range 1..2097151.</remarks>
    public int QueuedMaxMessagesKbytes { get; set; } = DefaultQueuedMaxMessagesKbytes;

    /// <summary>How long the group waits for a silo's heartbeat before moving its partitions.</summary>
    /// <remarks>Allowed range 1000..3600000.</remarks>
    public int SessionTimeoutMs { get; set; } = DefaultSessionTimeoutMs;

    /// <summary>Producer <c>linger.ms</c> for commands, forwards and dead letters.</summary>
    /// <remarks>Allowed range 0..900000.</remarks>
    public int LingerMs { get; set; } = DefaultLingerMs;

    /// <summary>
    /// Further librdkafka properties for every client (for example <c>security.protocol</c>,
    /// <c>sasl.mechanism</c>): <c>Kafka:Properties:security.protocol=SASL_SSL</c>.
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Further librdkafka properties for the consumers only (<c>Kafka:ConsumerProperties:fetch.wait.max.ms=100</c>).</summary>
    public Dictionary<string, string> ConsumerProperties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Further librdkafka properties for the producer only.</summary>
    public Dictionary<string, string> ProducerProperties { get; set; } = new(StringComparer.Ordinal);
}
