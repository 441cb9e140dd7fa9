using Confluent.Kafka;

namespace Hearth.Client;

/// <summary>Where the client talks to Kafka and which topics it uses.</summary>
public sealed record KafkaEndpoint(
    string BootstrapServers,
    string ReadingsTopic = "thermostat-readings",
    string SettingsTopic = "thermostat-settings",
    string CommandsTopic = "heater-commands")
{
    /// <summary>
    /// A producer that partitions keys as Java clients do (murmur2), so a thermostat's messages land on
    /// the partition its controller owns whoever else produces them.
    /// </summary>
    public IProducer<string, byte[]> CreateProducer() =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            Partitioner = Partitioner.Murmur2Random,
            EnableIdempotence = true,
            LingerMs = 5,
            CompressionType = CompressionType.Lz4,
        })
        .SetLogHandler((_, _) => { })
        .Build();

    /// <summary>
    /// A consumer of the commands topic outside any group, positioned at the end (or the start) of every
    /// partition: watching changes nothing for anyone else.
    /// </summary>
    public IConsumer<string?, byte[]> CreateCommandConsumer(bool fromBeginning, TimeSpan metadataTimeout)
    {
        var consumer = new ConsumerBuilder<string?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "hearth-client-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = false,
        })
        .SetLogHandler((_, _) => { })
        .Build();
        try
        {
            using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
            var topic = admin.GetMetadata(CommandsTopic, metadataTimeout).Topics.Single(t => t.Topic == CommandsTopic);
            if (topic.Error.IsError || topic.Partitions.Count == 0)
            {
                throw new InvalidOperationException($"Topic '{CommandsTopic}' is not available: {topic.Error.Reason}");
            }

            // The end is resolved now, not at the first fetch, so nothing produced after this call is missed.
            consumer.Assign(topic.Partitions.Select(p =>
            {
                var partition = new TopicPartition(CommandsTopic, p.PartitionId);
                var start = fromBeginning ? Offset.Beginning : consumer.QueryWatermarkOffsets(partition, metadataTimeout).High;
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
}
