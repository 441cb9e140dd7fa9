using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Silo.Hosting;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Streams;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace Hearth.Tests.Streaming;

/// <summary>
/// The thermostat controllers on Orleans' in-process test cluster: every silo runs <c>AddThermostatControl</c> (the
/// Kafka stream provider and the grains, state in PostgreSQL) against the embedded broker.
/// </summary>
public static class ThermostatCluster
{
    public static async Task<InProcessTestCluster> StartAsync(
        EmbeddedKafkaFixture kafka, TestTopics topics, string database, ITestOutputHelper output, int silos,
        Action<ISiloKafkaStreamConfigurator>? configureKafka = null)
    {
        var settings = SiloSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(
            TestSettings.Kafka(kafka.BootstrapServers, topics).With(new Dictionary<string, string?>
            {
                ["Storage:Provider"] = "postgres",
                ["Storage:ConnectionString"] = database,
            })).Build());
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddThermostatControl(settings, configureKafka);
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(2);
                o.NumMissedProbesLimit = 2;
            });
        });
        builder.ConfigureSiloHost((options, host) =>
        {
            host.Logging.ClearProviders();
            host.Logging.AddProvider(new TestOutputLoggerProvider(output, options.SiloName));
            host.Logging.AddFilter("Orleans", LogLevel.Warning);
            host.Logging.AddFilter("Polly", LogLevel.Warning);
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>The Kafka stream provider's status on <paramref name="silo"/>.</summary>
    public static IKafkaStreamStatus Kafka(this InProcessSiloHandle silo) =>
        silo.ServiceProvider.GetRequiredKeyedService<IKafkaStreamStatus>(ThermostatStreams.Provider);

    /// <summary>The controllers' figures on <paramref name="silo"/>.</summary>
    public static ThermostatMetrics Metrics(this InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<ThermostatMetrics>();
}

/// <summary>A queue balancer that gives every silo every queue: two silos deliver every message, as during a handoff that overlaps.</summary>
public sealed class EveryQueueBalancer : IStreamQueueBalancer
{
    private IStreamQueueMapper? _mapper;

    public Task Initialize(IStreamQueueMapper queueMapper)
    {
        _mapper = queueMapper;
        return Task.CompletedTask;
    }

    public Task Shutdown() => Task.CompletedTask;

    public IEnumerable<QueueId> GetMyQueues() => _mapper?.GetAllQueues() ?? [];

    public bool SubscribeToQueueDistributionChangeEvents(IStreamQueueBalanceListener observer) => true;

    public bool UnSubscribeFromQueueDistributionChangeEvents(IStreamQueueBalanceListener observer) => true;
}
