using Hearth.Runtime.Activation;
using Hearth.Runtime.Configuration;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Kafka;
using Hearth.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Processing;

/// <summary>What every partition worker of a silo shares.</summary>
internal sealed class WorkerServices
{
    public WorkerServices(
        GrainRegistry registry,
        OutboundProducer producer,
        ICheckpointStore store,
        RuntimeMetrics metrics,
        TopicLayout layout,
        IOptions<GrainsOptions> grains,
        IOptions<TopicsOptions> topics,
        TimeProvider time,
        IServiceProvider services,
        ILoggerFactory loggers)
    {
        Registry = registry;
        Producer = producer;
        Store = store;
        Metrics = metrics;
        Layout = layout;
        Grains = grains.Value;
        Topics = topics.Value;
        Time = time;
        Services = services;
        Logger = loggers.CreateLogger<PartitionWorker>();
    }

    public GrainRegistry Registry { get; }

    public OutboundProducer Producer { get; }

    public ICheckpointStore Store { get; }

    public RuntimeMetrics Metrics { get; }

    public TopicLayout Layout { get; }

    public GrainsOptions Grains { get; }

    public TopicsOptions Topics { get; }

    public TimeProvider Time { get; }

    public IServiceProvider Services { get; }

    public ILogger Logger { get; }
}
