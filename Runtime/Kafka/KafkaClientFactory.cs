using Confluent.Kafka;
using Hearth.Runtime.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Kafka;

/// <summary>Builds the silo's Kafka clients from <see cref="KafkaOptions"/>, with librdkafka's logs routed to ILogger.</summary>
internal sealed class KafkaClientFactory
{
    private readonly KafkaOptions _options;
    private readonly SiloOptions _silo;
    private readonly ILogger _logger;

    public KafkaClientFactory(IOptions<KafkaOptions> options, IOptions<SiloOptions> silo, ILoggerFactory loggers)
    {
        _options = options.Value;
        _silo = silo.Value;
        _logger = loggers.CreateLogger("Hearth.Runtime.Kafka.Librdkafka");
    }

    public string BootstrapServers => _options.BootstrapServers
        ?? throw new InvalidOperationException("Kafka:BootstrapServers is not set (the embedded broker sets it).");

    /// <summary>The consumer that joins the group over the partition-owning topic.</summary>
    public ConsumerBuilder<byte[]?, byte[]?> GroupConsumer()
    {
        var config = new ConsumerConfig(Common("group", _options.ConsumerProperties))
        {
            GroupId = _options.GroupId,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            SessionTimeoutMs = _options.SessionTimeoutMs,
            HeartbeatIntervalMs = Math.Max(100, _options.SessionTimeoutMs / 5),
        };
        return Consumer(config);
    }

    /// <summary>
    /// The consumer of co-partitioned topics: partitions are assigned to it by this silo (never by the
    /// group) so that partition p of every input topic lives where the group placed partition p.
    /// Its own group id is used only to record fallback offsets.
    /// </summary>
    public ConsumerBuilder<byte[]?, byte[]?> CoPartitionedConsumer()
    {
        var config = new ConsumerConfig(Common("copartitioned", _options.ConsumerProperties))
        {
            GroupId = _options.GroupId + ".copartitioned",
        };
        return Consumer(config);
    }

    /// <summary>
    /// A client for metadata requests only. It is a consumer with <c>allow.auto.create.topics=false</c>,
    /// so asking about a misspelt topic never creates it on a cluster that auto-creates topics.
    /// </summary>
    public IConsumer<byte[]?, byte[]?> MetadataClient()
    {
        var config = new ConsumerConfig(Common("metadata", _options.ConsumerProperties))
        {
            GroupId = _options.GroupId + ".metadata",
        };
        if (!_options.Ephemeral)
        {
            // The embedded broker predates the flag (and creates topics anyway); only ask real clusters.
            config.AllowAutoCreateTopics = false;
        }

        return Consumer(config).Build();
    }

    /// <summary>The producer of outputs, forwards and dead letters.</summary>
    public ProducerBuilder<byte[]?, byte[]?> Producer()
    {
        var config = new ProducerConfig(Common("producer", _options.ProducerProperties))
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            Partitioner = Partitioner.Murmur2Random,
            LingerMs = _options.LingerMs,
            CompressionType = CompressionType.Lz4,
            DeliveryReportFields = "status",
        };
        return new ProducerBuilder<byte[]?, byte[]?>(config)
            .SetLogHandler((_, m) => LogLibrdkafka(m))
            .SetErrorHandler((_, e) => LogError(e));
    }

    private ConsumerBuilder<byte[]?, byte[]?> Consumer(ConsumerConfig config)
    {
        config.EnableAutoCommit = false;
        config.EnableAutoOffsetStore = false;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.EnablePartitionEof = false;
        config.QueuedMinMessages = _options.QueuedMinMessages;
        config.QueuedMaxMessagesKbytes = _options.QueuedMaxMessagesKbytes;
        return new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetLogHandler((_, m) => LogLibrdkafka(m))
            .SetErrorHandler((_, e) => LogError(e));
    }

    private Dictionary<string, string> Common(string role, Dictionary<string, string> roleProperties)
    {
        // Ours first, then the operator's Kafka:Properties (security settings and the like) and the
        // role's own properties on top; what follows the call (group id, commit mode...) is not overridable.
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = BootstrapServers,
            ["client.id"] = $"{_silo.Name}-{role}",
            ["log.connection.close"] = "false",
        };
        foreach (var (key, value) in _options.Properties.Concat(roleProperties))
        {
            properties[key] = value;
        }

        return properties;
    }

    private void LogLibrdkafka(LogMessage message)
    {
        var level = message.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical or SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Debug,
            _ => LogLevel.Trace,
        };
        Diagnostics.Log.Librdkafka(_logger, level, message.Name, message.Facility, message.Message);
    }

    private void LogError(Error error)
    {
        if (error.IsFatal)
        {
            Diagnostics.Log.KafkaFatalError(_logger, error.Code, error.Reason);
        }
        else
        {
            Diagnostics.Log.KafkaError(_logger, error.Code, error.Reason);
        }
    }
}
