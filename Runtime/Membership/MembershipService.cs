using System.Threading.Channels;
using Hearth.Runtime.Configuration;
using Hearth.Runtime.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Membership;

/// <summary>
/// Keeps this silo's row in the membership table: joining at start, active once the group has assigned
/// it partitions, a heartbeat with its partitions and figures every <c>Membership:HeartbeatInterval</c>
/// (and at once after a rebalance), shutting down when the host stops, dead when it has. Every live silo
/// also marks silent ones dead after <c>Membership:DeadAfter</c>. Registered before the grain runtime,
/// so it starts first and stops last.
/// </summary>
internal sealed partial class MembershipService : BackgroundService, IHostedLifecycleService
{
    private readonly IMembershipTable _table;
    private readonly SiloIdentity _identity;
    private readonly GrainRuntimeStatus _runtime;
    private readonly ISiloStatsProvider? _stats;
    private readonly MembershipOptions _options;
    private readonly string _groupId;
    private readonly TimeProvider _time;
    private readonly ILogger<MembershipService> _logger;
    private readonly Channel<ClusterEvent> _events = Channel.CreateUnbounded<ClusterEvent>();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly SemaphoreSlim _statusLock = new(1, 1);
    private SiloStatus _status = SiloStatus.Joining;

    public MembershipService(
        IMembershipTable table,
        SiloIdentity identity,
        GrainRuntimeStatus runtime,
        IOptions<MembershipOptions> options,
        IOptions<KafkaOptions> kafka,
        TimeProvider time,
        ILogger<MembershipService> logger,
        ISiloStatsProvider? stats = null)
    {
        _table = table;
        _identity = identity;
        _runtime = runtime;
        _stats = stats;
        _options = options.Value;
        _groupId = kafka.Value.GroupId;
        _time = time;
        _logger = logger;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _runtime.AssignmentChanged += OnAssignmentChanged;
        await _table.RegisterAsync(_groupId, new SiloRecord(
            _identity.Name, _identity.Host, _identity.HttpAddress, _identity.StartedAtMs, SiloStatus.Joining,
            NowMs(), [], 0, null), cancellationToken).ConfigureAwait(false);
        LogStatus(_logger, _identity.Name, AdoNetMembershipTable.Format(SiloStatus.Joining));
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Before any service stops: tell the cluster this silo is leaving.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await SetStatusAsync(SiloStatus.ShuttingDown, cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The grain runtime has stopped by now (it was registered after this service).
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _runtime.AssignmentChanged -= OnAssignmentChanged;
        try
        {
            await WriteEventsAsync(cancellationToken).ConfigureAwait(false);
            await HeartbeatAsync(cancellationToken).ConfigureAwait(false);
            await SetStatusAsync(SiloStatus.Dead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogWriteFailed(_logger, e);
        }
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_status == SiloStatus.Joining && _runtime.FirstAssignment.IsCompletedSuccessfully)
                {
                    await SetStatusAsync(SiloStatus.Active, stoppingToken).ConfigureAwait(false);
                }

                await WriteEventsAsync(stoppingToken).ConfigureAwait(false);
                await HeartbeatAsync(stoppingToken).ConfigureAwait(false);
                var now = NowMs();
                foreach (var dead in await _table.MarkStaleDeadAsync(
                    _groupId, now - (long)_options.DeadAfter.TotalMilliseconds, now, _identity.Name, stoppingToken).ConfigureAwait(false))
                {
                    LogMarkedDead(_logger, dead, _options.DeadAfter);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The table is unreachable: the next beat retries. Placement does not depend on it.
                LogWriteFailed(_logger, e);
            }

            try
            {
                await _wake.WaitAsync(_options.HeartbeatInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        _statusLock.Dispose();
        base.Dispose();
    }

    private void OnAssignmentChanged(string kind, IReadOnlyList<int> partitions)
    {
        _events.Writer.TryWrite(new ClusterEvent(NowMs(), _identity.Name, kind, string.Join(",", partitions)));
        _wake.Release();
    }

    private async Task WriteEventsAsync(CancellationToken cancellationToken)
    {
        while (_events.Reader.TryPeek(out var clusterEvent))
        {
            await _table.AddEventAsync(_groupId, clusterEvent, cancellationToken).ConfigureAwait(false);
            _events.Reader.TryRead(out _);
        }
    }

    private Task HeartbeatAsync(CancellationToken cancellationToken) =>
        _table.HeartbeatAsync(_groupId, _identity.Name, new SiloHeartbeat(
            NowMs(), _identity.HttpAddress, _runtime.OwnedPartitions.ToList(), _runtime.Activations, _stats?.GetStats()),
            cancellationToken);

    /// <summary>Moves the status forward (joining, active, shutting down, dead); never back.</summary>
    private async Task SetStatusAsync(SiloStatus status, CancellationToken cancellationToken)
    {
        await _statusLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (status <= _status)
            {
                return;
            }

            await _table.SetStatusAsync(_groupId, _identity.Name, status, NowMs(), cancellationToken).ConfigureAwait(false);
            _status = status;
            LogStatus(_logger, _identity.Name, AdoNetMembershipTable.Format(status));
        }
        finally
        {
            _statusLock.Release();
        }
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    [LoggerMessage(Level = LogLevel.Information, Message = "Silo {Silo} is {Status}")]
    private static partial void LogStatus(ILogger logger, string silo, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} has not sent a heartbeat for {DeadAfter} and is now shown dead")]
    private static partial void LogMarkedDead(ILogger logger, string silo, TimeSpan deadAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing to the membership table failed; retrying at the next heartbeat")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception);
}

/// <summary>Supplies the figures a silo publishes with its heartbeat (JSON), for the dashboard.</summary>
public interface ISiloStatsProvider
{
    string GetStats();
}
