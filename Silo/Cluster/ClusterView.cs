using Hearth.Silo.Configuration;
using Hearth.Silo.Security;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Cluster;

/// <summary>One silo as the cluster API shows it: its membership status, and its latest report while it is alive.</summary>
/// <param name="Queues">The input partitions the silo pulls, as <c>topic/partition</c>.</param>
/// <param name="LagByQueue">Messages after each queue's checkpoint.</param>
/// <param name="RemoteDeliveryShare">Of the deliveries to this silo's controllers in the last report interval, the share read by another silo.</param>
/// <param name="Stalls">The partitions whose deliveries or dead letters are failing on this silo, with why and since when.</param>
public sealed record SiloView(
    string Name,
    string Address,
    string? HttpAddress,
    string Status,
    DateTimeOffset? StartedAt,
    DateTimeOffset? ReportedAt,
    IReadOnlyList<string> Queues,
    long Activations,
    double MessagesPerSecond,
    long MessagesProcessed,
    double CommandsPerSecond,
    long Lag,
    IReadOnlyDictionary<string, long> LagByQueue,
    double CpuPercent,
    double MemoryMb,
    double? LatencyP50Ms,
    double? LatencyP99Ms,
    double? RemoteDeliveryShare,
    IReadOnlyList<StallReport> Stalls);

/// <summary>An input partition and the silo pulling it (none while it moves).</summary>
public sealed record QueueView(string Topic, int Partition, string? Owner, long? Lag, long? Checkpoint);

/// <summary>An entry of the cluster's event log.</summary>
public sealed record EventView(DateTimeOffset At, string Silo, string Kind, string Detail);

/// <summary>The cluster as seen by one silo at one moment.</summary>
/// <param name="OrleansDashboard">Whether the silo serves the Orleans Dashboard (the fleet dashboard links it).</param>
/// <param name="Login">Whether browsers log in with a key (<c>/login</c>, <c>/logout</c>); not with <c>Auth:Mode=none</c>.</param>
public sealed record ClusterSnapshot(
    DateTimeOffset At,
    string ServedBy,
    string ClusterId,
    string BootstrapServers,
    string GroupId,
    int Partitions,
    IReadOnlyList<SiloView> Silos,
    IReadOnlyList<QueueView> Queues,
    IReadOnlyList<EventView> Events,
    bool OrleansDashboard,
    bool Login);

/// <summary>One point of the dashboard's charts.</summary>
public sealed record HistorySample(long AtMs, double TotalMessagesPerSecond, IReadOnlyDictionary<string, SiloSample> Silos);

public sealed record SiloSample(double MessagesPerSecond, double? LatencyP50Ms, double? LatencyP99Ms, string Status);

/// <summary>
/// The cluster for the API and the dashboard: the silos from Orleans membership, their figures from the
/// <see cref="IClusterDirectoryGrain"/>, and the last ten minutes of figures, sampled here every two seconds.
/// </summary>
public sealed partial class ClusterView(
    IClusterMembershipService membership,
    IGrainFactory grains,
    [FromKeyedServices(Grains.ThermostatStreams.Provider)] IKafkaStreamStatus kafka,
    IOptions<KafkaStreamOptions> kafkaOptions,
    IOptions<Orleans.Configuration.ClusterOptions> cluster,
    IOptions<OrleansOptions> orleans,
    IOptions<AuthOptions> auth,
    ILocalSiloDetails silo,
    TimeProvider time,
    UnreachableSiloRetry retry,
    ILogger<ClusterView> logger) : BackgroundService
{
    private static readonly TimeSpan HistoryLength = TimeSpan.FromMinutes(10);

    /// <summary>A report older than this comes from a silo that stopped reporting: its figures are not shown.</summary>
    private static readonly TimeSpan StaleAfter = ClusterWatcher.ReportInterval * 5;

    private readonly Lock _lock = new();
    private readonly Queue<HistorySample> _history = new();

    /// <summary>The figures of the last ten minutes, oldest first.</summary>
    public IReadOnlyList<HistorySample> History()
    {
        lock (_lock)
        {
            return _history.ToList();
        }
    }

    /// <summary>
    /// The cluster now. Reads of the directory that Orleans refuses because its silo crashed are repeated until the
    /// cluster has moved it (<see cref="UnreachableSiloRetry"/>), whose last refusal is thrown.
    /// </summary>
    public async Task<ClusterSnapshot> GetAsync(CancellationToken cancellationToken)
    {
        var directory = grains.GetGrain<IClusterDirectoryGrain>(IClusterDirectoryGrain.Key);
        var reports = (await retry.RunAsync(() => directory.GetReportsAsync().WaitAsync(cancellationToken), "Reading the cluster directory", cancellationToken))
            .ToDictionary(r => r.SiloAddress, StringComparer.Ordinal);
        var events = await retry.RunAsync(() => directory.GetEventsAsync(50).WaitAsync(cancellationToken), "Reading the cluster's events", cancellationToken);
        var now = time.GetUtcNow();
        var silos = membership.CurrentSnapshot.Members.Values
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .Select(m => ToView(m, reports.GetValueOrDefault(m.SiloAddress.ToString()), now))
            .ToList();
        var owners = silos.Where(s => s.Status == "active" && s.Queues.Count > 0)
            .Select(s => reports[s.Address])
            .SelectMany(r => r.Queues.Select(q => (Owner: r.Name, r.ReportedAt, Queue: q)))
            .GroupBy(o => (o.Queue.Topic, o.Queue.Partition))
            // While a queue moves, both silos may list it: the newer report wins.
            .ToDictionary(g => g.Key, g => g.MaxBy(o => o.ReportedAt));
        var queues = kafka.Topics
            .SelectMany(t => Enumerable.Range(0, t.Partitions).Select(p => (t.Topic, Partition: p)))
            .Select(q => owners.TryGetValue(q, out var owner)
                ? new QueueView(q.Topic, q.Partition, owner.Owner, owner.Queue.Lag, owner.Queue.Checkpoint)
                : new QueueView(q.Topic, q.Partition, null, null, null))
            .ToList();
        return new ClusterSnapshot(
            now, silo.Name, cluster.Value.ClusterId, kafkaOptions.Value.BootstrapServers, kafkaOptions.Value.GroupId, queues.Count,
            silos, queues, events.Select(e => new EventView(e.At, e.Silo, e.Kind, e.Detail)).ToList(), orleans.Value.Dashboard,
            !auth.Value.IsOff);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ClusterWatcher.ReportInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    Sample(await GetAsync(stoppingToken));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogSampleFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Sample(ClusterSnapshot snapshot)
    {
        var sample = new HistorySample(
            snapshot.At.ToUnixTimeMilliseconds(),
            snapshot.Silos.Where(s => s.Status == "active").Sum(s => s.MessagesPerSecond),
            snapshot.Silos.ToDictionary(s => s.Name, s => new SiloSample(s.MessagesPerSecond, s.LatencyP50Ms, s.LatencyP99Ms, s.Status)));
        lock (_lock)
        {
            _history.Enqueue(sample);
            while (_history.Count > 0 && sample.AtMs - _history.Peek().AtMs > HistoryLength.TotalMilliseconds)
            {
                _history.Dequeue();
            }
        }
    }

    private static SiloView ToView(ClusterMember member, SiloReport? report, DateTimeOffset now)
    {
        var status = ClusterWatcher.StatusName(member.Status);
        var live = report is not null && status != "dead" && now - report.ReportedAt < StaleAfter;
        var lag = live ? report!.Queues.ToDictionary(q => $"{q.Topic}/{q.Partition}", q => q.Lag) : new Dictionary<string, long>();
        return new SiloView(
            member.Name,
            member.SiloAddress.ToString(),
            report?.HttpAddress,
            status,
            report?.StartedAt,
            report?.ReportedAt,
            live ? report!.Queues.Select(q => $"{q.Topic}/{q.Partition}").ToList() : [],
            live ? report!.Activations : 0,
            live ? report!.MessagesPerSecond : 0,
            report?.MessagesProcessed ?? 0,
            live ? report!.CommandsPerSecond : 0,
            lag.Values.Sum(),
            lag,
            live ? report!.CpuPercent : 0,
            live ? report!.MemoryMb : 0,
            live ? report!.LatencyP50Ms : null,
            live ? report!.LatencyP99Ms : null,
            live ? report!.RemoteDeliveryShare : null,
            live ? report!.Stalls ?? [] : []);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sampling the cluster for the dashboard's history failed: {Reason}")]
    private static partial void LogSampleFailed(ILogger logger, string reason);
}
