using System.Globalization;

namespace Hearth.Streaming.Kafka.Hosting;

/// <summary>
/// How a Kafka stream provider reaches Kafka and which topics it reads. Named options: one set per
/// provider name (<c>siloBuilder.AddKafkaStreams("kafka", ...)</c>).
/// </summary>
/// <remarks>
/// A host may bind them from a configuration section (<c>options.Bind(configuration.GetSection("Kafka"))</c>: the
/// property dictionaries bind from <c>Kafka:Properties:&lt;librdkafka name&gt;</c>) and check them with
/// <see cref="KafkaStreamOptionsValidator.Validate(KafkaStreamOptions, string, IEnumerable{string}?)"/> and the
/// section as key prefix, so that every message names the key an operator sets.
/// </remarks>
public sealed class KafkaStreamOptions
{
    public const string DefaultGroupId = "hearth-silos";
    public const int DefaultMaxBatchSize = 50_000;
    public const int DefaultCacheSize = 100_000;
    public const int DefaultSiloCacheSize = 400_000;
    public const int DefaultCommitIntervalMs = 1_000;
    public const int DefaultQueuedMinMessages = 20_000;
    public const int DefaultQueuedMaxMessagesKbytes = 16_384;
    public const int DefaultLingerMs = 1;
    public static readonly TimeSpan DefaultMetadataTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultTopicRefreshInterval = TimeSpan.FromSeconds(30);

    /// <summary><c>host:port[,host:port...]</c> of the Kafka cluster. Required.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>
    /// The consumer group whose committed offsets are the checkpoints of the input partitions. Every silo
    /// of a cluster uses the same group; no consumer ever joins it (queues are assigned by Orleans), so
    /// standard lag tools see the group's progress without any group rebalancing.
    /// </summary>
    public string GroupId { get; set; } = DefaultGroupId;

    /// <summary>The topics read into streams: one Orleans queue per partition of each. At least one.</summary>
    public IList<string> Topics { get; set; } = [];

    /// <summary>
    /// Where messages that cannot be decoded, or whose delivery keeps failing, are published (with the
    /// reason and their origin in headers). Required: a provider never drops a message silently.
    /// </summary>
    public string DeadLetterTopic { get; set; } = "";

    /// <summary>
    /// Stream namespaces and their topics, both ways: events published to a namespace's streams go to its topic
    /// (a namespace not listed here, to the topic of the same name), and an input topic's partitions are streams
    /// of the first namespace listed for it (a topic not listed here, of the namespace of the same name).
    /// </summary>
    public IDictionary<string, string> NamespaceTopics { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Most messages one read takes from a partition (and groups by stream into batch containers).</summary>
    /// <remarks>Allowed range 1..100000.</remarks>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>
    /// Messages a queue's cache may hold undelivered before the queue stops reading (cache pressure). A
    /// message leaves the cache when every consumer of its stream has finished with it. Dead letters of the
    /// queue's partition that Kafka does not have yet count too: while Kafka refuses them, the queue reads no
    /// further than this.
    /// </summary>
    /// <remarks>Allowed range 1..10000000.</remarks>
    public int CacheSize { get; set; } = DefaultCacheSize;

    /// <summary>
    /// Messages the caches of all the queues a silo pulls may hold together: once they do, a queue holding at
    /// least its share (this over the queues) stops reading until it has delivered some. Bounds a silo's
    /// memory however many partitions it pulls; the caches may pass it by one read each.
    /// </summary>
    /// <remarks>Allowed range 1..100000000.</remarks>
    public int SiloCacheSize { get; set; } = DefaultSiloCacheSize;

    /// <summary>
    /// How often the checkpoints that moved are committed to Kafka, in one request per silo, each round after the
    /// silo's membership was confirmed (see <see cref="Committing.IKafkaCheckpointFence"/>). A crash redelivers what
    /// was delivered since the last commit; consumers must skip what they have seen.
    /// </summary>
    /// <remarks>Allowed range 10..3600000.</remarks>
    public int CommitIntervalMs { get; set; } = DefaultCommitIntervalMs;

    /// <summary>librdkafka <c>queued.min.messages</c> per partition consumer (prefetch).</summary>
    /// <remarks>Allowed range 1..10000000.</remarks>
    public int QueuedMinMessages { get; set; } = DefaultQueuedMinMessages;

    /// <summary>librdkafka <c>queued.max.messages.kbytes</c> per partition consumer (prefetch memory bound).</summary>
    /// <remarks>Allowed range 1..2097151.</remarks>
    public int QueuedMaxMessagesKbytes { get; set; } = DefaultQueuedMaxMessagesKbytes;

    /// <summary>
    /// Producer <c>linger.ms</c>: how long the producer waits to fill a batch. What the provider produces (a consumer's
    /// results, such as heater commands) is often on a latency path, and each message waits this long at most.
    /// </summary>
    /// <remarks>Allowed range 0..900000.</remarks>
    public int LingerMs { get; set; } = DefaultLingerMs;

    /// <summary>
    /// How long the provider waits for topic metadata: at start, before it fails; at each refresh
    /// (<see cref="TopicRefreshInterval"/>), before it tries again at the next.
    /// </summary>
    public TimeSpan MetadataTimeout { get; set; } = DefaultMetadataTimeout;

    /// <summary>
    /// How often every silo reads the input topics' metadata again: partitions added to a live topic are pulled within
    /// this period (every silo shares the new queues out alike), and a topic deleted and created again under its name
    /// (a new Kafka topic id) is read as a new topic within it. Each refresh is a metadata request per topic.
    /// </summary>
    /// <remarks>Allowed range 00:00:01..01:00:00.</remarks>
    public TimeSpan TopicRefreshInterval { get; set; } = DefaultTopicRefreshInterval;

    /// <summary>
    /// A name for the logs behind the topics where Kafka gives no topic ids, carried in every message
    /// (<see cref="Providers.KafkaMessage.TopicId"/>). Offsets are comparable only within one log: a broker that keeps
    /// nothing across restarts (a development broker) gets a new incarnation at each start, so consumers that stored
    /// offsets of the old log know to forget them. Empty for a real cluster, whose topics' ids tell their lives apart.
    /// </summary>
    public string LogIncarnation { get; set; } = "";

    /// <summary>Client id prefix for the provider's Kafka clients (shown in broker logs).</summary>
    public string ClientId { get; set; } = "hearth";

    /// <summary>Further librdkafka properties for every client (e.g. <c>security.protocol</c>).</summary>
    public IDictionary<string, string> Properties { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Further librdkafka properties for the consumers only.</summary>
    public IDictionary<string, string> ConsumerProperties { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Further librdkafka properties for the producer only.</summary>
    public IDictionary<string, string> ProducerProperties { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The topic <paramref name="streamNamespace"/> is published to.</summary>
    public string TopicOf(string streamNamespace) =>
        NamespaceTopics.TryGetValue(streamNamespace, out var topic) ? topic : streamNamespace;

    /// <summary>The namespace of the streams of <paramref name="topic"/>'s partitions.</summary>
    public string NamespaceOf(string topic) =>
        NamespaceTopics.FirstOrDefault(e => string.Equals(e.Value, topic, StringComparison.Ordinal)).Key ?? topic;

    /// <summary>
    /// The stream of partition <paramref name="partition"/> of input topic <paramref name="topic"/>: namespace
    /// <see cref="NamespaceOf"/> the topic, key the partition number (<c>"0"</c>, <c>"1"</c>...). Its events are
    /// the partition's messages in offset order.
    /// </summary>
    public StreamId StreamOf(string topic, int partition) =>
        StreamId.Create(NamespaceOf(topic), partition.ToString(CultureInfo.InvariantCulture));
}
