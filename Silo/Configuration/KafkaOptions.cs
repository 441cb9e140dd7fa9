namespace Hearth.Silo.Configuration;

/// <summary>How the silo reaches Kafka. Section <c>Kafka</c>.</summary>
public sealed class KafkaOptions
{
    public const string SectionName = "Kafka";

    /// <summary>
    /// <c>host:port[,host:port...]</c> of the Kafka cluster. Empty means the silo hosts an embedded
    /// development broker.
    /// </summary>
    public string? BootstrapServers { get; set; }

    /// <summary>
    /// The consumer group whose committed offsets are the input partitions' checkpoints (every silo of a
    /// cluster uses the same; no consumer joins it, Orleans assigns the partitions).
    /// </summary>
    public string GroupId { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultGroupId;

    /// <summary>How often checkpoints are committed; a crash redelivers at most this much (and grains skip it).</summary>
    /// <remarks>Allowed range 10..3600000.</remarks>
    public int CommitIntervalMs { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultCommitIntervalMs;

    /// <summary>librdkafka <c>queued.min.messages</c>: messages prefetched per partition.</summary>
    /// <remarks>Allowed range 1..10000000.</remarks>
    public int QueuedMinMessages { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultQueuedMinMessages;

    /// <summary>librdkafka <c>queued.max.messages.kbytes</c>: prefetch memory bound per partition.</summary>
    /// <remarks>Allowed range 1..2097151.</remarks>
    public int QueuedMaxMessagesKbytes { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultQueuedMaxMessagesKbytes;

    /// <summary>Most messages one read takes from a partition (grouped by thermostat into one delivery each).</summary>
    /// <remarks>Allowed range 1..100000.</remarks>
    public int MaxBatchSize { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultMaxBatchSize;

    /// <summary>Messages a partition may have read and not finished before its reading pauses.</summary>
    /// <remarks>Allowed range 1..10000000.</remarks>
    public int CacheSize { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultCacheSize;

    /// <summary>Messages all the partitions a silo pulls may have read and not finished together; past it the fullest pause.</summary>
    /// <remarks>Allowed range 1..100000000.</remarks>
    public int SiloCacheSize { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultSiloCacheSize;

    /// <summary>Producer <c>linger.ms</c> for commands and dead letters.</summary>
    /// <remarks>Allowed range 0..900000.</remarks>
    public int LingerMs { get; set; } = Streaming.Kafka.Hosting.KafkaStreamOptions.DefaultLingerMs;

    /// <summary>
    /// Further librdkafka properties for every client (for example <c>security.protocol</c>,
    /// <c>sasl.mechanism</c>): <c>Kafka:Properties:security.protocol=SASL_SSL</c>.
    /// </summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Further librdkafka properties for the consumers only (<c>Kafka:ConsumerProperties:fetch.wait.max.ms=100</c>).</summary>
    public Dictionary<string, string> ConsumerProperties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Further librdkafka properties for the producer only.</summary>
    public Dictionary<string, string> ProducerProperties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Set by the silo when it hosts the embedded broker: the broker keeps nothing across restarts.</summary>
    internal string LogIncarnation { get; set; } = "";
}
