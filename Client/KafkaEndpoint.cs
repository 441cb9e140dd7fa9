using Confluent.Kafka;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Client;

/// <summary>Where the client talks to Kafka and which topics it uses.</summary>
public sealed record KafkaEndpoint(string BootstrapServers, string ReadingsTopic, string SettingsTopic, string CommandsTopic)
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// librdkafka properties of every client (<see cref="KafkaProperties"/>): security and the like. What the client
    /// sets itself (partitioner, idempotence, group) is set over them.
    /// </summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// A producer that partitions keys as Java clients do (murmur2), so a thermostat's messages land on
    /// the partition its controller owns whoever else produces them.
    /// </summary>
    public IProducer<string, byte[]> CreateProducer() =>
        Build(() => new ProducerBuilder<string, byte[]>(ProducerConfig()).SetLogHandler((_, _) => { }).Build());

    /// <summary>The configuration of <see cref="CreateProducer"/>.</summary>
    internal ProducerConfig ProducerConfig() =>
        new(Properties.ToDictionary(StringComparer.Ordinal))
        {
            BootstrapServers = BootstrapServers,
            Partitioner = Partitioner.Murmur2Random,
            EnableIdempotence = true,
            LingerMs = 5,
            CompressionType = CompressionType.Lz4,
        };

    /// <summary>The configuration of <see cref="CreateCommandConsumer"/>.</summary>
    internal ConsumerConfig CommandConsumerConfig() =>
        new(Properties.ToDictionary(StringComparer.Ordinal))
        {
            BootstrapServers = BootstrapServers,
            GroupId = "hearth-client-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = false,
        };

    /// <summary>
    /// Builds a client; a property librdkafka refuses (an unknown name, a bad value) is the caller's mistake, said as
    /// librdkafka says it rather than as a crash.
    /// </summary>
    private static T Build<T>(Func<T> build)
    {
        try
        {
            return build();
        }
        catch (ArgumentException e)
        {
            throw new ClientApp.UsageException($"Kafka: {e.Message}");
        }
    }

    /// <summary>
    /// A consumer of the commands topic outside any group, positioned at the end (or the start) of every
    /// partition: watching changes nothing for anyone else.
    /// </summary>
    public IConsumer<string?, byte[]> CreateCommandConsumer(bool fromBeginning)
    {
        var consumer = Build(() => new ConsumerBuilder<string?, byte[]>(CommandConsumerConfig()).SetLogHandler((_, _) => { }).Build());
        try
        {
            using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
            var topic = admin.GetMetadata(CommandsTopic, MetadataTimeout).Topics.Single(t => t.Topic == CommandsTopic);
            if (topic.Error.IsError || topic.Partitions.Count == 0)
            {
                throw new InvalidOperationException($"Topic '{CommandsTopic}' is not available: {topic.Error.Reason}");
            }

            // The end is resolved now, not at the first fetch, so nothing produced after this call is missed.
            consumer.Assign(topic.Partitions.Select(p =>
            {
                var partition = new TopicPartition(CommandsTopic, p.PartitionId);
                var start = fromBeginning ? Offset.Beginning : consumer.QueryWatermarkOffsets(partition, MetadataTimeout).High;
                return new TopicPartitionOffset(partition, start);
            }));
            return consumer;
        }
        catch
        {
            consumer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The commands <paramref name="consumer"/> receives, decoded (or the reason one is not a command), until
    /// <paramref name="cancellationToken"/> is cancelled. Blocks between messages: run it on a thread of its own.
    /// </summary>
    public static IEnumerable<(TopicPartitionOffset Position, DecodeResult<HeaterCommand> Command)> ReadCommands(
        IConsumer<string?, byte[]> consumer, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result?.Message is not null)
            {
                yield return (result.TopicPartitionOffset, ThermostatJson.DecodeCommand(result.Message.Value));
            }
        }
    }
}
