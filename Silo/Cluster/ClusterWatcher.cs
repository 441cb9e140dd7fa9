using System.Diagnostics;
using Hearth.Grains;
using Hearth.Silo.Hosting;
using Hearth.Streaming.Kafka.Diagnostics;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Silo.Cluster;

/// <summary>
/// Runs on every silo once it is active: reports the silo's figures to the <see cref="IClusterDirectoryGrain"/>
/// every <see cref="ReportInterval"/>, and records in its event log the membership changes this silo
/// sees and the queues it takes and gives up.
/// </summary>
public sealed partial class ClusterWatcher(
    IClusterMembershipService membership,
    IGrainFactory grains,
    [FromKeyedServices(ThermostatStreams.Provider)] IKafkaStreamStatus kafka,
    ThermostatMetrics metrics,
    ThermostatDispatcher dispatcher,
    SiloEndpoints endpoints,
    ILocalSiloDetails silo,
    TimeProvider time,
    ILogger<ClusterWatcher> logger) : BackgroundService
{
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(2);

    private readonly DateTimeOffset _startedAt = time.GetUtcNow();
    private HashSet<string> _queues = [];
    private long _lastAt;
    private long _lastProcessed;
    private long _lastCommands;
    private (long Local, long Remote) _lastDeliveries;
    private TimeSpan _lastCpu;

    private IClusterDirectoryGrain Directory => grains.GetGrain<IClusterDirectoryGrain>(IClusterDirectoryGrain.Key);

    /// <summary>The status names the API and dashboard use.</summary>
    public static string StatusName(SiloStatus status) => status switch
    {
        SiloStatus.Active => "active",
        SiloStatus.ShuttingDown or SiloStatus.Stopping => "shutting-down",
        SiloStatus.Dead => "dead",
        _ => "joining",
    };

    /// <summary>
    /// The silo is stopping (it stops before Orleans does): records that it is shutting down, which the others
    /// may not see in the membership table before it is dead.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Directory.RecordAsync([new ClusterEvent(time.GetUtcNow(), silo.SiloAddress.ToString(), silo.Name, StatusName(SiloStatus.ShuttingDown), "")])
                .WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReportFailed(logger, e.Message);
        }

        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watching = WatchMembershipAsync(stoppingToken);
        using var timer = new PeriodicTimer(ReportInterval, time);
        try
        {
            do
            {
                try
                {
                    await ReportAsync();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogReportFailed(logger, e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await watching;
    }

    private async Task ReportAsync()
    {
        var partitions = kafka.Partitions();
        var queues = partitions.Select(p => $"{p.Topic}/{p.Partition}").ToHashSet(StringComparer.Ordinal);
        var taken = queues.Except(_queues).Order(StringComparer.Ordinal).ToList();
        var released = _queues.Except(queues).Order(StringComparer.Ordinal).ToList();
        if (taken.Count > 0 || released.Count > 0)
        {
            var detail = string.Join("; ", new[]
            {
                taken.Count > 0 ? "took " + string.Join(", ", taken) : null,
                released.Count > 0 ? "gave up " + string.Join(", ", released) : null,
            }.OfType<string>());
            await Directory.RecordAsync([new ClusterEvent(time.GetUtcNow(), silo.SiloAddress.ToString(), silo.Name, "queues", detail)]);
            _queues = queues;
        }

        await Directory.ReportAsync(Measure(partitions));
    }

    private SiloReport Measure(IReadOnlyList<KafkaPartitionStatus> partitions)
    {
        var now = time.GetTimestamp();
        var processed = partitions.Sum(p => p.Delivered);
        var commands = metrics.Totals.Commands;
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var seconds = _lastAt == 0 ? 0 : time.GetElapsedTime(_lastAt, now).TotalSeconds;
        var (p50, p99, samples) = metrics.TakeLatencyPercentiles();
        var deliveries = metrics.Deliveries;
        var local = deliveries.Local - _lastDeliveries.Local;
        var remote = deliveries.Remote - _lastDeliveries.Remote;
        var report = new SiloReport(
            silo.SiloAddress.ToString(),
            silo.Name,
            endpoints.HttpAddress,
            _startedAt,
            time.GetUtcNow(),
            partitions.Select(p => new QueueReport(p.Topic, p.Partition, p.Checkpoint, p.Lag, p.Received)).ToList(),
            metrics.Activations,
            // Per interval; a queue that moved in counts from its first report.
            seconds > 0 ? Math.Round(Math.Max(0, processed - _lastProcessed) / seconds, 1) : 0,
            processed,
            seconds > 0 ? Math.Round(Math.Max(0, commands - _lastCommands) / seconds, 1) : 0,
            seconds > 0 ? Math.Round(100 * (cpu - _lastCpu).TotalSeconds / seconds / Environment.ProcessorCount, 1) : 0,
            Math.Round(process.WorkingSet64 / 1048576.0, 1),
            samples > 0 ? Math.Round(p50, 2) : null,
            samples > 0 ? Math.Round(p99, 2) : null,
            local + remote > 0 ? Math.Round((double)remote / (local + remote), 3) : null,
            StallReport.Current(dispatcher, kafka));
        _lastAt = now;
        _lastDeliveries = deliveries;
        _lastProcessed = processed;
        _lastCommands = commands;
        _lastCpu = cpu;
        return report;
    }

    private async Task WatchMembershipAsync(CancellationToken stoppingToken)
    {
        var known = new Dictionary<SiloAddress, SiloStatus>();
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                // The first snapshot is the cluster as this silo found it.
                var joining = known.Count == 0;
                var changes = new List<ClusterEvent>();
                foreach (var (address, member) in snapshot.Members)
                {
                    if (!known.TryGetValue(address, out var before) || before != member.Status)
                    {
                        known[address] = member.Status;
                        changes.Add(new ClusterEvent(time.GetUtcNow(), address.ToString(), member.Name, StatusName(member.Status), ""));
                        if (!joining)
                        {
                            // What the cluster was as this silo joined is in the event log; what changes after is logged too.
                            LogMembershipChanged(logger, member.Name, address.ToString(), StatusName(member.Status));
                        }
                    }
                }

                if (changes.Count > 0)
                {
                    try
                    {
                        await Directory.RecordAsync(changes);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        LogReportFailed(logger, e.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} ({SiloAddress}) is {Status}")]
    private static partial void LogMembershipChanged(ILogger logger, string silo, string siloAddress, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not report to the cluster directory ({Reason}); the next report follows in two seconds")]
    private static partial void LogReportFailed(ILogger logger, string reason);
}
