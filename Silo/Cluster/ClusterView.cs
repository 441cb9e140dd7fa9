using Hearth.Runtime.Configuration;
using Hearth.Runtime.Hosting;
using Hearth.Runtime.Membership;
using IMembershipTable = Hearth.Runtime.Membership.IMembershipTable;
using SiloStatus = Hearth.Runtime.Membership.SiloStatus;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Cluster;

/// <summary>One silo as the cluster API shows it.</summary>
public sealed record SiloView(
    string Name,
    string Host,
    string? HttpAddress,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt,
    IReadOnlyList<int> Partitions,
    long Activations,
    double MessagesPerSecond,
    long MessagesProcessed,
    double CommandsPerSecond,
    long Lag,
    IReadOnlyDictionary<string, long> LagByPartition,
    double CpuPercent,
    double MemoryMb,
    double? LatencyP50Ms,
    double? LatencyP99Ms);

/// <summary>A partition and who owns it.</summary>
public sealed record PartitionView(int Partition, string? Owner, long? Lag);

/// <summary>An entry of the cluster's event log.</summary>
public sealed record EventView(DateTimeOffset At, string Silo, string Kind, string Detail);

/// <summary>The cluster as seen by one silo at one moment.</summary>
public sealed record ClusterSnapshot(
    DateTimeOffset At,
    string ServedBy,
    string BootstrapServers,
    string GroupId,
    int Partitions,
    IReadOnlyList<SiloView> Silos,
    IReadOnlyList<PartitionView> PartitionMap,
    IReadOnlyList<EventView> Events);

/// <summary>One point of the dashboard's charts.</summary>
public sealed record HistorySample(long AtMs, double TotalMessagesPerSecond, IReadOnlyDictionary<string, SiloSample> Silos);

public sealed record SiloSample(double MessagesPerSecond, double? LatencyP50Ms, double? LatencyP99Ms, string Status);

/// <summary>
/// Reads the membership table and the event log every heartbeat interval and keeps the latest view plus
/// the last ten minutes of figures, so that any silo can serve the cluster API and the dashboard.
/// </summary>
public sealed partial class ClusterView(
    IMembershipTable membership,
    SiloIdentity identity,
    GrainRuntimeStatus runtime,
    IOptions<KafkaOptions> kafka,
    IOptions<MembershipOptions> options,
    TimeProvider time,
    ILogger<ClusterView> logger) : BackgroundService
{
    private static readonly TimeSpan HistoryLength = TimeSpan.FromMinutes(10);

    private readonly Lock _lock = new();
    private readonly Queue<HistorySample> _history = new();
    private ClusterSnapshot? _latest;

    /// <summary>The latest view (read at most one heartbeat interval ago), or a fresh read if there is none yet.</summary>
    public async Task<ClusterSnapshot> GetAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_latest is not null)
            {
                return _latest;
            }
        }

        return await RefreshAsync(cancellationToken);
    }

    /// <summary>The figures of the last ten minutes, oldest first.</summary>
    public IReadOnlyList<HistorySample> History()
    {
        lock (_lock)
        {
            return _history.ToList();
        }
    }

    /// <summary>The active silo that owns <paramref name="partition"/>, read from the membership table now.</summary>
    public async Task<SiloRecord?> FindOwnerAsync(int partition, CancellationToken cancellationToken)
    {
        return OwnerOf(await membership.ReadSilosAsync(kafka.Value.GroupId, cancellationToken), partition);
    }

    /// <summary>The active silo that lists the partition (the latest heartbeat wins while a move is half seen).</summary>
    private static SiloRecord? OwnerOf(IEnumerable<SiloRecord> silos, int partition) =>
        silos
            .Where(s => s.Status is SiloStatus.Active && s.Partitions.Contains(partition))
            .OrderByDescending(s => s.HeartbeatAtMs)
            .FirstOrDefault();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<ClusterSnapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        var group = kafka.Value.GroupId;
        var records = await membership.ReadSilosAsync(group, cancellationToken);
        var events = await membership.ReadEventsAsync(group, 50, cancellationToken);
        var silos = records.Select(ToView).ToList();
        var partitionCount = runtime.PartitionCount;
        var map = Enumerable.Range(0, partitionCount).Select(p =>
        {
            var owner = OwnerOf(records, p) is { } record ? silos.Single(s => s.Name == record.Name) : null;
            return new PartitionView(p, owner?.Name,
                owner is not null && owner.LagByPartition.TryGetValue(p.ToString(System.Globalization.CultureInfo.InvariantCulture), out var lag) ? lag : null);
        }).ToList();
        var now = time.GetUtcNow();
        var snapshot = new ClusterSnapshot(
            now, identity.Name, kafka.Value.BootstrapServers ?? "", group, partitionCount, silos, map,
            events.Select(e => new EventView(DateTimeOffset.FromUnixTimeMilliseconds(e.AtMs), e.SiloName, e.Kind, e.Detail)).ToList());
        var sample = new HistorySample(
            now.ToUnixTimeMilliseconds(),
            silos.Where(s => s.Status == "active").Sum(s => s.MessagesPerSecond),
            silos.ToDictionary(s => s.Name, s => new SiloSample(s.MessagesPerSecond, s.LatencyP50Ms, s.LatencyP99Ms, s.Status)));
        lock (_lock)
        {
            _latest = snapshot;
            _history.Enqueue(sample);
            while (_history.Count > 0 && now.ToUnixTimeMilliseconds() - _history.Peek().AtMs > HistoryLength.TotalMilliseconds)
            {
                _history.Dequeue();
            }
        }

        return snapshot;
    }

    private static SiloView ToView(SiloRecord silo)
    {
        var stats = silo.Status == SiloStatus.Dead ? null : SiloStats.TryParse(silo.Stats);
        var lag = stats?.Lag ?? new Dictionary<string, long>();
        return new SiloView(
            silo.Name,
            silo.Host,
            silo.HttpAddress,
            AdoNetMembershipTable.Format(silo.Status),
            DateTimeOffset.FromUnixTimeMilliseconds(silo.StartedAtMs),
            DateTimeOffset.FromUnixTimeMilliseconds(silo.HeartbeatAtMs),
            silo.Partitions,
            silo.Status == SiloStatus.Dead ? 0 : silo.Activations,
            stats?.MessagesPerSecond ?? 0,
            stats?.MessagesProcessed ?? 0,
            stats?.OutputsPerSecond ?? 0,
            lag.Values.Sum(),
            lag,
            stats?.CpuPercent ?? 0,
            stats?.MemoryMb ?? 0,
            stats?.OutputLatencyP50Ms,
            stats?.OutputLatencyP99Ms);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the membership table for the cluster view failed; the view is from the previous read")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
