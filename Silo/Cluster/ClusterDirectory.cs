using Hearth.Grains;
using Hearth.Streaming.Kafka.Providers;
using Orleans.Concurrency;

namespace Hearth.Silo.Cluster;

/// <summary>What one silo reports about itself every couple of seconds.</summary>
[GenerateSerializer, Immutable, Alias("hearth.SiloReport")]
public sealed record SiloReport(
    [property: Id(0)] string SiloAddress,
    [property: Id(1)] string Name,
    [property: Id(2)] string HttpAddress,
    [property: Id(3)] DateTimeOffset StartedAt,
    [property: Id(4)] DateTimeOffset ReportedAt,
    [property: Id(5)] IReadOnlyList<QueueReport> Queues,
    [property: Id(6)] long Activations,
    [property: Id(7)] double MessagesPerSecond,
    [property: Id(8)] long MessagesProcessed,
    [property: Id(9)] double CommandsPerSecond,
    [property: Id(10)] double CpuPercent,
    [property: Id(11)] double MemoryMb,
    [property: Id(12)] double? LatencyP50Ms,
    [property: Id(13)] double? LatencyP99Ms,
    [property: Id(14)] double? RemoteDeliveryShare = null,
    [property: Id(15)] IReadOnlyList<StallReport>? Stalls = null);

/// <summary>
/// A partition whose deliveries are failing on a silo, or whose dead letters Kafka refuses: its inputs wait (lag grows)
/// until they succeed.
/// </summary>
[GenerateSerializer, Immutable, Alias("hearth.StallReport")]
public sealed record StallReport(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] DateTimeOffset Since,
    [property: Id(3)] string Reason)
{
    /// <summary>This silo's waiting partitions now: those whose deliveries fail, then those whose dead letters Kafka refuses.</summary>
    public static List<StallReport> Current(ThermostatDispatcher dispatcher, IKafkaStreamStatus kafka)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(kafka);
        return dispatcher.Stalls.Select(s => new StallReport(s.Source, s.Partition, s.Since, s.Reason))
            .Concat(kafka.Stalls().Select(s => new StallReport(s.Topic, s.Partition, s.Since, s.Reason)))
            .ToList();
    }
}

/// <summary>An input partition (Orleans queue) a silo pulls.</summary>
[GenerateSerializer, Immutable, Alias("hearth.QueueReport")]
public sealed record QueueReport(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Checkpoint,
    [property: Id(3)] long Lag,
    [property: Id(4)] long Received);

/// <summary>Something that happened in the cluster: a silo changed status, or a silo took or gave up queues.</summary>
/// <param name="Kind"><c>joining</c>, <c>active</c>, <c>shutting-down</c>, <c>dead</c>, or <c>queues</c>.</param>
[GenerateSerializer, Immutable, Alias("hearth.ClusterEvent")]
public sealed record ClusterEvent(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string SiloAddress,
    [property: Id(2)] string Silo,
    [property: Id(3)] string Kind,
    [property: Id(4)] string Detail);

/// <summary>
/// Where the silos meet: each reports its figures here, and any silo reads everyone's to answer
/// <c>/api/cluster</c>. Also keeps the cluster's event log, in storage, so it outlives any silo.
/// </summary>
[Alias("hearth.IClusterDirectoryGrain")]
public interface IClusterDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The one directory of a cluster.</summary>
    const string Key = "cluster";

    [Alias("Report"), OneWay]
    Task ReportAsync(SiloReport report);

    [Alias("GetReports"), ReadOnly, AlwaysInterleave]
    Task<IReadOnlyList<SiloReport>> GetReportsAsync();

    /// <summary>Records events; one already recorded (the same silo reaching the same status) is ignored.</summary>
    [Alias("Record")]
    Task RecordAsync(IReadOnlyList<ClusterEvent> events);

    /// <summary>The latest <paramref name="limit"/> events, newest first.</summary>
    [Alias("GetEvents"), ReadOnly, AlwaysInterleave]
    Task<IReadOnlyList<ClusterEvent>> GetEventsAsync(int limit);
}

/// <summary>The stored event log of <see cref="ClusterDirectoryGrain"/>.</summary>
[GenerateSerializer, Alias("hearth.ClusterEventLog")]
public sealed class ClusterEventLog
{
    [Id(0)]
    public List<ClusterEvent> Events { get; set; } = [];
}

/// <inheritdoc cref="IClusterDirectoryGrain"/>
public sealed class ClusterDirectoryGrain(
    [PersistentState("cluster-events", Grains.ThermostatStorage.ProviderName)] IPersistentState<ClusterEventLog> log)
    : Grain, IClusterDirectoryGrain
{
    private const int MaxEvents = 500;
    private readonly Dictionary<string, SiloReport> _reports = new(StringComparer.Ordinal);

    public Task ReportAsync(SiloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _reports[report.SiloAddress] = report;
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SiloReport>> GetReportsAsync() => Task.FromResult<IReadOnlyList<SiloReport>>(_reports.Values.ToList());

    public async Task RecordAsync(IReadOnlyList<ClusterEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var added = false;
        foreach (var e in events)
        {
            // Every silo reports the status changes it sees; the first report of each counts.
            if (e.Kind != "queues" && log.State.Events.Any(x => x.SiloAddress == e.SiloAddress && x.Kind == e.Kind))
            {
                continue;
            }

            log.State.Events.Add(e);
            added = true;
        }

        if (added)
        {
            log.State.Events.Sort((a, b) => a.At.CompareTo(b.At));
            if (log.State.Events.Count > MaxEvents)
            {
                log.State.Events.RemoveRange(0, log.State.Events.Count - MaxEvents);
            }

            await log.WriteStateAsync();
        }
    }

    public Task<IReadOnlyList<ClusterEvent>> GetEventsAsync(int limit) =>
        Task.FromResult<IReadOnlyList<ClusterEvent>>(log.State.Events.AsEnumerable().Reverse().Take(Math.Max(0, limit)).ToList());
}
