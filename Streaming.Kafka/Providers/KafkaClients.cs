using Confluent.Kafka;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Receiving;
using Microsoft.Extensions.Logging;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>Builds a provider's Kafka clients from its <see cref="KafkaStreamOptions"/>, with librdkafka's logs routed to ILogger.</summary>
internal sealed partial class KafkaClients(string providerName, KafkaStreamOptions options, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("Hearth.Streaming.Kafka.Librdkafka");

    /// <summary>The facility of librdkafka's log line for a fatal error.</summary>
    private const string FatalFacility = "FATAL";

    /// <summary>The fields of a consumed message the provider reads besides key and value (librdkafka <c>consume.result.fields</c>).</summary>
    private const string ConsumeResultFields = "timestamp,headers";

    public KafkaStreamOptions Options => options;

    /// <summary>
    /// The consumer of one queue: manually assigned (never joins the group, Orleans balances the queues), committing
    /// nothing (the silo's <see cref="Committing.KafkaCheckpointCommitter"/> commits every queue's checkpoint).
    /// </summary>
    /// <param name="key">Where the consumer copies each message's key (no array per message).</param>
    /// <param name="value">Where the consumer copies each message's value.</param>
    public IConsumer<CapturedBytes.Marker, CapturedBytes.Marker> CreateConsumer(string queueName, CapturedBytes key, CapturedBytes value) =>
        new ConsumerBuilder<CapturedBytes.Marker, CapturedBytes.Marker>(ConsumerConfig(queueName))
            .SetKeyDeserializer(key)
            .SetValueDeserializer(value)
            .SetLogHandler((_, m) => LogLibrdkafka(m))
            .SetErrorHandler((_, e) => LogError(e))
            .Build();

    /// <summary>The configuration of <see cref="CreateConsumer"/>.</summary>
    internal ConsumerConfig ConsumerConfig(string queueName) =>
        new(Common($"{queueName}", options.ConsumerProperties, ConsumerDefaults))
        {
            GroupId = options.GroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = false,
            QueuedMinMessages = options.QueuedMinMessages,
            QueuedMaxMessagesKbytes = options.QueuedMaxMessagesKbytes,
            ConsumeResultFields = ConsumeResultFields,
        };

    /// <summary>
    /// A consumer that reads messages back by offset (see <see cref="KafkaMessageReader"/>): manually assigned,
    /// committing nothing, prefetching little.
    /// </summary>
    public IConsumer<byte[]?, byte[]?> CreateReader(string queueName) =>
        new ConsumerBuilder<byte[]?, byte[]?>(ReaderConfig(queueName))
            .SetLogHandler((_, m) => LogLibrdkafka(m))
            .SetErrorHandler((_, e) => LogError(e))
            .Build();

    /// <summary>The configuration of <see cref="CreateReader"/>.</summary>
    internal ConsumerConfig ReaderConfig(string queueName) =>
        new(Common($"{queueName}-reader", options.ConsumerProperties, ConsumerDefaults))
        {
            GroupId = options.GroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = true,
            QueuedMinMessages = 100,
            ConsumeResultFields = ConsumeResultFields,
        };

    /// <summary>The consumer that commits the checkpoints of the silo's queues: of the group, assigned nothing.</summary>
    public IConsumer<byte[]?, byte[]?> CreateCommitter() =>
        new ConsumerBuilder<byte[]?, byte[]?>(CommitterConfig())
            .SetLogHandler((_, m) => LogLibrdkafka(m))
            .SetErrorHandler((_, e) => LogError(e))
            .Build();

    /// <summary>The configuration of <see cref="CreateCommitter"/>.</summary>
    internal ConsumerConfig CommitterConfig() =>
        new(Common("committer", options.ConsumerProperties, ConsumerDefaults))
        {
            GroupId = options.GroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        };

    /// <summary>
    /// The largest record the producer sends, its <c>message.max.bytes</c> (librdkafka refuses a larger one before
    /// sending it): what the configuration sets, else librdkafka's default.
    /// </summary>
    public int ProducerMessageMaxBytes =>
        int.TryParse(Common("producer", options.ProducerProperties).GetValueOrDefault(MessageMaxBytes), out var bytes) ? bytes : DefaultMessageMaxBytes;

    private const string MessageMaxBytes = "message.max.bytes";
    private const int DefaultMessageMaxBytes = 1_000_000;

    /// <summary>The provider's producer: idempotent, murmur2 partitioning like Java clients, lz4.</summary>
    /// <param name="fatal">Told of a fatal error of the producer (on librdkafka's thread) instead of the log.</param>
    public IProducer<byte[]?, byte[]?> CreateProducer(Action<IProducer<byte[]?, byte[]?>, Error>? fatal = null) =>
        new ProducerBuilder<byte[]?, byte[]?>(ProducerConfig())
            .SetLogHandler((_, m) => LogLibrdkafka(m))
            .SetErrorHandler((producer, e) =>
            {
                if (e.IsFatal && fatal is not null)
                {
                    fatal(producer, e);
                }
                else
                {
                    LogError(e);
                }
            })
            .Build();

    /// <summary>The configuration of <see cref="CreateProducer"/>.</summary>
    internal ProducerConfig ProducerConfig() =>
        new(Common("producer", options.ProducerProperties))
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            Partitioner = Partitioner.Murmur2Random,
            LingerMs = options.LingerMs,
            CompressionType = CompressionType.Lz4,
            EnableDeliveryReports = true,
            DeliveryReportFields = "status",
        };

    /// <summary>A client for metadata requests, which never creates a topic by asking about it.</summary>
    public IAdminClient CreateAdminClient() =>
        new AdminClientBuilder(AdminConfig())
            .SetLogHandler((_, m) => LogLibrdkafka(m))
            .SetErrorHandler((_, e) => LogError(e))
            .Build();

    /// <summary>The configuration of <see cref="CreateAdminClient"/>.</summary>
    internal AdminClientConfig AdminConfig() => new(Common("admin", new Dictionary<string, string>()));

    /// <summary>
    /// librdkafka's default waits a second before fetching again once a partition's prefetch is full
    /// (<c>queued.min.messages</c>, <c>queued.max.messages.kbytes</c>), which stalls a consumer that keeps up.
    /// </summary>
    private static readonly Dictionary<string, string> ConsumerDefaults = new(StringComparer.Ordinal)
    {
        ["fetch.queue.backoff.ms"] = "10",
    };

    private Dictionary<string, string> Common(string role, IDictionary<string, string> roleProperties, IDictionary<string, string>? defaults = null)
    {
        // Ours first, then the operator's Properties (security settings and the like) and the role's own on
        // top; what the builders set afterwards (group id, commit mode...) is not overridable.
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = options.BootstrapServers,
            ["client.id"] = $"{options.ClientId}-{providerName}-{role}",
            ["log.connection.close"] = "false",
        };
        foreach (var (key, value) in (defaults ?? new Dictionary<string, string>()).Concat(options.Properties).Concat(roleProperties))
        {
            properties[key] = value;
        }

        return properties;
    }

    private void LogLibrdkafka(LogMessage message)
    {
        // librdkafka logs a fatal error as it raises it, and tells the error handler too, which reports it once (LogError,
        // or the producer's owner, which replaces the producer).
        var level = message.Facility == FatalFacility ? LogLevel.Debug : message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Debug,
            _ => LogLevel.Trace,
        };
        LogLibrdkafka(_logger, level, message.Name, message.Facility, message.Message);
    }

    private void LogError(Error error)
    {
        if (error.IsFatal)
        {
            LogFatal(_logger, error.Code, error.Reason);
        }
        else
        {
            LogKafkaError(_logger, error.Code, error.Reason);
        }
    }

    [LoggerMessage(Message = "{Client} {Facility}: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Kafka client failed fatally ({Code}): {Reason}")]
    private static partial void LogFatal(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka client error ({Code}): {Reason}; librdkafka retries by itself")]
    private static partial void LogKafkaError(ILogger logger, ErrorCode code, string reason);
}
