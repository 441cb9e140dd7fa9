using Confluent.Kafka;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace Hearth.Tests.Streaming;

/// <summary>One provider test's topics on the shared embedded broker, and its consumer group.</summary>
public sealed record ProviderTopics(string Input, string DeadLetter, string Output, int Partitions, string GroupId)
{
    public static ProviderTopics Create(EmbeddedKafkaFixture kafka, int partitions)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var topics = new ProviderTopics($"input-{suffix}", $"dead-{suffix}", $"output-{suffix}", partitions, $"group-{suffix}");
        kafka.Cluster.CreateTopic(topics.Input, partitions);
        kafka.Cluster.CreateTopic(topics.DeadLetter, 1);
        kafka.Cluster.CreateTopic(topics.Output, partitions);
        return topics;
    }
}

/// <summary>An Orleans cluster in this process whose silos run the Kafka stream provider over a test's topics.</summary>
public static class ProviderCluster
{
    public const string ProviderName = "kafka";

    public static async Task<InProcessTestCluster> StartAsync(
        EmbeddedKafkaFixture kafka, ProviderTopics topics, ITestOutputHelper output, int silos = 1,
        Action<StreamPullingAgentOptions>? agent = null)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorageAsDefault();
            silo.AddKafkaStreams(ProviderName, kafkaStreams =>
            {
                kafkaStreams.ConfigureKafka(options => options.Configure(o =>
                {
                    o.BootstrapServers = kafka.BootstrapServers;
                    o.GroupId = topics.GroupId;
                    o.Topics = [topics.Input];
                    o.DeadLetterTopic = topics.DeadLetter;
                    o.NamespaceTopics = new Dictionary<string, string>
                    {
                        [TestEventAdapter.Namespace] = topics.Input,
                        ["provider-output"] = topics.Output,
                    };
                    // The embedded broker answers an empty fetch only after fetch.wait.max.ms.
                    o.ConsumerProperties = new Dictionary<string, string> { ["fetch.wait.max.ms"] = "10" };
                    o.CommitIntervalMs = 100;
                }));
                kafkaStreams.UseDataAdapter((_, _) => new TestEventAdapter());
                if (agent is not null)
                {
                    kafkaStreams.ConfigurePullingAgent(options => options.Configure(agent));
                }
            });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
        });
        builder.ConfigureSiloHost((options, host) =>
        {
            host.Logging.ClearProviders();
            host.Logging.AddProvider(new TestOutputLoggerProvider(output, options.SiloName));
            host.Logging.AddFilter("Orleans", LogLevel.Warning);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>The offsets committed for <paramref name="topics"/>' input partitions (negative where none is).</summary>
    public static Dictionary<int, long> Committed(EmbeddedKafkaFixture kafka, ProviderTopics topics) =>
        new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId)
            .Committed(Enumerable.Range(0, topics.Partitions).Select(p => new TopicPartition(topics.Input, p)))
            .ToDictionary(c => c.Key.Partition.Value, c => c.Value);

    /// <summary>Waits until every partition of the input has its committed offset at <paramref name="ends"/>.</summary>
    public static Task WaitForCommittedAsync(EmbeddedKafkaFixture kafka, ProviderTopics topics, IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout) =>
        new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId).WaitForStoredAsync(ends, timeout, "provider");

    /// <summary>The queues (partitions) each silo of <paramref name="cluster"/> pulls now.</summary>
    public static Dictionary<string, IReadOnlyList<int>> Ownership(InProcessTestCluster cluster) =>
        cluster.Silos.ToDictionary(
            s => s.SiloAddress.ToString(),
            s => (IReadOnlyList<int>)s.ServiceProvider.GetRequiredKeyedService<Hearth.Streaming.Kafka.Providers.IKafkaStreamStatus>(ProviderName)
                .Partitions().Select(p => p.Partition).ToList());
}
