using Confluent.Kafka;
using Hearth.Silo.EmbeddedKafka;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// One embedded Kafka broker for every test of the <see cref="KafkaCollection"/>; each test makes its
/// own uniquely named topics and group ids, so tests never see each other's messages.
/// </summary>
public sealed class EmbeddedKafkaFixture : IDisposable
{
    public EmbeddedKafkaFixture() => Cluster = new EmbeddedKafkaCluster();

    public EmbeddedKafkaCluster Cluster { get; }

    public string BootstrapServers => Cluster.BootstrapServers;

    /// <summary>Creates the four topics of a silo with unique names.</summary>
    public TestTopics CreateTopics(int partitions, bool sharedInputTopic = false)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var readings = $"readings-{suffix}";
        var topics = new TestTopics(
            readings,
            sharedInputTopic ? readings : $"settings-{suffix}",
            $"commands-{suffix}",
            $"deadletter-{suffix}",
            partitions,
            $"group-{suffix}");
        foreach (var topic in new[] { topics.Readings, topics.Settings, topics.Commands, topics.DeadLetter }.Distinct())
        {
            Cluster.CreateTopic(topic, partitions);
        }

        return topics;
    }

    /// <summary>A producer that partitions like Java clients (murmur2), as the silo expects.</summary>
    public IProducer<string?, byte[]?> CreateProducer() =>
        new ProducerBuilder<string?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers,
            Partitioner = Partitioner.Murmur2Random,
            EnableIdempotence = true,
            LingerMs = 2,
        }).SetLogHandler((_, _) => { }).Build();

    /// <summary>The end (high watermark) of every partition of <paramref name="topic"/>.</summary>
    public Dictionary<TopicPartition, long> EndOffsets(string topic) =>
        TopicReader.EndOffsets(BootstrapServers, topic, TimeSpan.FromSeconds(30));

    public void Dispose() => Cluster.Dispose();
}

[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<EmbeddedKafkaFixture>
{
    public const string Name = "Embedded Kafka";
}

/// <summary>A test's topics and consumer group.</summary>
public sealed record TestTopics(string Readings, string Settings, string Commands, string DeadLetter, int Partitions, string GroupId);
