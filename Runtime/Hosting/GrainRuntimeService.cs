using Confluent.Kafka;
using Hearth.Runtime.Checkpointing;
using Hearth.Runtime.Configuration;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Kafka;
using Hearth.Runtime.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Hosting;

/// <summary>
/// The silo's grain runtime as a hosted service. Start: storage schema, topic layout, consumers (the
/// group consumer last, so that nothing is assigned before everything is ready). Run: checkpoints at
/// <c>Grains:CheckpointInterval</c> and idle collection. Stop: leave the group, which releases every
/// partition through the same path as a revocation (finish turns, deactivate, checkpoint, commit).
/// </summary>
internal sealed class GrainRuntimeService : BackgroundService
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DeadLetterReportPeriod = TimeSpan.FromMinutes(1);

    private readonly WorkerServices _services;
    private readonly PartitionManager _partitions;
    private readonly CheckpointCoordinator _checkpoints;
    private readonly GrainRuntimeStatus _status;
    private readonly KafkaClientFactory _clients;
    private readonly KafkaOptions _kafka;
    private readonly TopicsOptions _topics;
    private readonly GrainsOptions _grains;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<GrainRuntimeService> _logger;
    private GroupConsumerLoop? _group;
    private CoPartitionedConsumerLoop? _coPartitioned;

    public GrainRuntimeService(
        WorkerServices services,
        PartitionManager partitions,
        CheckpointCoordinator checkpoints,
        GrainRuntimeStatus status,
        KafkaClientFactory clients,
        IOptions<KafkaOptions> kafka,
        IOptions<TopicsOptions> topics,
        IOptions<GrainsOptions> grains,
        IHostApplicationLifetime lifetime,
        ILoggerFactory loggers)
    {
        _services = services;
        _partitions = partitions;
        _checkpoints = checkpoints;
        _status = status;
        _clients = clients;
        _kafka = kafka.Value;
        _topics = topics.Value;
        _grains = grains.Value;
        _lifetime = lifetime;
        _loggers = loggers;
        _logger = loggers.CreateLogger<GrainRuntimeService>();
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_services.Registry.StreamGrain is null)
        {
            throw new InvalidOperationException("No stream grain is registered: call AddStreamGrain on the grain runtime builder.");
        }

        if (_kafka.Ephemeral)
        {
            await _services.Store.DiscardOffsetsAsync(_kafka.GroupId, cancellationToken).ConfigureAwait(false);
            Log.OffsetsDiscarded(_logger, _kafka.GroupId);
        }

        _services.Layout.Set(ReadInputLayout());

        if (_topics.InputTopics.Count > 1)
        {
            _coPartitioned = new CoPartitionedConsumerLoop(_clients, _partitions, _loggers.CreateLogger<CoPartitionedConsumerLoop>());
            _partitions.CoPartitioned = _coPartitioned;
            _coPartitioned.Start("hearth-copartitioned-consumer");
        }

        _group = new GroupConsumerLoop(_clients, _topics.Readings, _partitions, _partitions, _loggers.CreateLogger<GroupConsumerLoop>());
        _partitions.Group = _group;
        _group.Start("hearth-group-consumer");
        Log.RuntimeStarted(_logger, _kafka.GroupId, string.Join(", ", _topics.InputTopics), _services.Layout.PartitionCount);

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_group is not null)
        {
            _group.RequestStop();
            await _group.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_coPartitioned is not null)
        {
            _coPartitioned.RequestStop();
            await _coPartitioned.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Log.RuntimeStopped(_logger, _services.Metrics.Checkpoints);
    }

    public override void Dispose()
    {
        _group?.Dispose();
        _coPartitioned?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = new List<Task> { _group!.Completion };
        if (_coPartitioned is not null)
        {
            loops.Add(_coPartitioned.Completion);
        }

        var checkpoints = RunCheckpointsAsync(stoppingToken);
        var first = await Task.WhenAny(loops.Append(checkpoints)).ConfigureAwait(false);
        if (first != checkpoints && !stoppingToken.IsCancellationRequested)
        {
            // A consumer loop ended on its own: this silo can no longer do its part.
            Fail("a Kafka consumer stopped", (_group.Fault ?? _coPartitioned?.Fault)!);
        }

        await checkpoints.ConfigureAwait(false);
    }

    private async Task RunCheckpointsAsync(CancellationToken stoppingToken)
    {
        var sweepEvery = TimeSpan.FromTicks(Math.Max(_grains.CheckpointInterval.Ticks, _grains.IdleTimeout.Ticks / 4));
        var lastSweep = _services.Time.GetTimestamp();
        var lastDeadLetterReport = _services.Time.GetTimestamp();
        long deadLettersReported = 0;
        using var timer = new PeriodicTimer(_grains.CheckpointInterval, _services.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var workers = _partitions.Workers;
                await CheckpointAsync(workers, stoppingToken).ConfigureAwait(false);
                if (_services.Time.GetElapsedTime(lastDeadLetterReport) >= DeadLetterReportPeriod)
                {
                    // One warning a minute at most, however many messages are rejected: the counter has the rest.
                    var total = _services.Metrics.Topics.Sum(t => t.DeadLettered);
                    if (total > deadLettersReported)
                    {
                        Log.DeadLettersSummary(_logger, total - deadLettersReported, _topics.DeadLetter, DeadLetterReportPeriod,
                            _services.Metrics.LastDeadLetterReason);
                    }

                    deadLettersReported = total;
                    lastDeadLetterReport = _services.Time.GetTimestamp();
                }

                if (_services.Time.GetElapsedTime(lastSweep) >= sweepEvery)
                {
                    lastSweep = _services.Time.GetTimestamp();
                    await Task.WhenAll(workers.Select(w => w.MaintainAsync())).ConfigureAwait(false);
                    _status.OnIdleSweepCompleted();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckpointAsync(IReadOnlyCollection<PartitionWorker> workers, CancellationToken stoppingToken)
    {
        try
        {
            var outcome = await _checkpoints.CheckpointAsync(workers, workersStopped: false, stoppingToken).ConfigureAwait(false);
            if (outcome.Fenced.Count > 0)
            {
                await _partitions.DropFencedAsync(outcome.Fenced).ConfigureAwait(false);
            }

            // No Kafka offset commit here: the offsets are stored with the states. A commit that races a
            // rebalance fails with ILLEGAL_GENERATION, and librdkafka then treats the whole assignment as
            // lost. Kafka's committed offsets (the fallback) are written when partitions are released.
        }
        catch (OutputDeliveryException e)
        {
            Fail("an output could not be delivered to Kafka", e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Nothing is acknowledged; the next checkpoint retries with everything changed since.
            Log.CheckpointFailed(_logger, e);
        }
    }

    /// <summary>The partition count of the input topics, after checking that they exist and have the same one.</summary>
    private int ReadInputLayout()
    {
        using var client = _clients.MetadataClient();
        using var admin = new DependentAdminClientBuilder(client.Handle).Build();
        var layout = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (key, topic) in new[] { ("Topics:Readings", _topics.Readings), ("Topics:Settings", _topics.Settings) })
        {
            var metadata = admin.GetMetadata(topic, MetadataTimeout).Topics.SingleOrDefault(t => t.Topic == topic);
            if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
            {
                throw new InvalidOperationException(
                    $"{key}: topic '{topic}' does not exist on {_clients.BootstrapServers} " +
                    $"({metadata?.Error.Reason ?? "no metadata"}). Create it, with the same partition count as the other input topic.");
            }

            layout[topic] = metadata.Partitions.Count;
        }

        if (layout.Values.Distinct().Count() > 1)
        {
            throw new InvalidOperationException(
                $"Topics:Readings ('{_topics.Readings}', {layout[_topics.Readings]} partitions) and Topics:Settings " +
                $"('{_topics.Settings}', {layout[_topics.Settings]} partitions) must have the same partition count: " +
                "a thermostat's readings and settings must land on the same partition number.");
        }

        return layout[_topics.Readings];
    }

    private void Fail(string what, Exception cause)
    {
        Log.SiloFailing(_logger, what, cause);
        Environment.ExitCode = 70;
        _lifetime.StopApplication();
    }
}
