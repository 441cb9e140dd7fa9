using System.Collections.Concurrent;
using Confluent.Kafka;
using Hearth.Runtime.Checkpointing;
using Hearth.Runtime.Configuration;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Kafka;
using Hearth.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Processing;

/// <summary>
/// The partitions this silo owns and their workers. It takes a partition when the group assigns it
/// (claim the lease, load offsets, start the worker, attach the co-partitioned topics) and gives it back
/// when the group revokes it (stop, deactivate, checkpoint, detach), and routes consumed messages to
/// the right worker.
/// </summary>
internal sealed class PartitionManager : IPartitionLifecycle, IMessageDispatcher
{
    private static readonly TimeSpan ClaimRetryLimit = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<int, PartitionWorker> _workers = new();
    private readonly TaskCompletionSource _firstAssignment = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly WorkerServices _services;
    private readonly CheckpointCoordinator _checkpoints;
    private readonly TopicsOptions _topics;
    private readonly string _groupId;
    private readonly string _siloName;
    private readonly ILogger<PartitionManager> _logger;

    public PartitionManager(
        WorkerServices services,
        CheckpointCoordinator checkpoints,
        IOptions<TopicsOptions> topics,
        IOptions<KafkaOptions> kafka,
        IOptions<SiloOptions> silo,
        ILogger<PartitionManager> logger)
    {
        _services = services;
        _checkpoints = checkpoints;
        _topics = topics.Value;
        _groupId = kafka.Value.GroupId;
        _siloName = silo.Value.Name;
        _logger = logger;
        services.Metrics.ObserveGauge("hearth.consumer.lag", "{message}",
            "Messages in the input topics not yet processed, per owned partition",
            () => Lag().Select(l => new System.Diagnostics.Metrics.Measurement<long>(l.Value, new KeyValuePair<string, object?>("partition", l.Key))));
    }

    /// <summary>The group consumer (set once the runtime has created it).</summary>
    public GroupConsumerLoop? Group { get; set; }

    /// <summary>The co-partitioned consumer, if settings and readings are distinct topics.</summary>
    public CoPartitionedConsumerLoop? CoPartitioned { get; set; }

    /// <summary>
    /// Raised when partitions are assigned, revoked, lost or fenced: the kind (<c>assigned</c>,
    /// <c>revoked</c>, <c>lost</c>, <c>fenced</c>) and the partitions.
    /// </summary>
    public event Action<string, IReadOnlyList<int>>? AssignmentChanged;

    /// <summary>Completes when the group has given this silo its first assignment.</summary>
    public Task FirstAssignment => _firstAssignment.Task;

    /// <summary>The workers of the partitions owned now.</summary>
    public IReadOnlyCollection<PartitionWorker> Workers => _workers.Values.ToList();

    /// <summary>The partitions owned now.</summary>
    public IReadOnlyCollection<int> OwnedPartitions => _workers.Keys.Order().ToList();

    /// <summary>The worker of an owned partition.</summary>
    public bool TryGetWorker(int partition, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PartitionWorker? worker) =>
        _workers.TryGetValue(partition, out worker);

    /// <summary>
    /// Per owned partition, the messages of its input topics not yet processed: the high watermark the
    /// consumer last saw less the next offset to process. Partitions with nothing known yet are left out.
    /// </summary>
    public IReadOnlyDictionary<int, long> Lag()
    {
        var lag = new SortedDictionary<int, long>();
        foreach (var worker in _workers.Values)
        {
            long total = 0;
            var known = false;
            foreach (var topic in _topics.InputTopics)
            {
                var loop = topic == _topics.Readings ? (ConsumerLoop?)Group : CoPartitioned;
                var high = loop?.HighWatermark(new TopicPartition(topic, worker.Partition)) ?? -1;
                var next = worker.NextOffset(topic);
                if (high >= 0 && next >= 0)
                {
                    total += Math.Max(0, high - next);
                    known = true;
                }
            }

            if (known)
            {
                lag[worker.Partition] = total;
            }
        }

        return lag;
    }

    public void Dispatch(ConsumeResult<byte[]?, byte[]?> result, ConsumerLoop source)
    {
        if (!_workers.TryGetValue(result.Partition.Value, out var worker) || !worker.TryEnqueue(result, source))
        {
            // The partition is being released: the message stays unacknowledged for its next owner.
            Log.MessageDropped(_logger, result.TopicPartitionOffset.ToString());
        }
    }

    public IReadOnlyList<TopicPartitionOffset> OnAssigned(IReadOnlyList<TopicPartition> partitions)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var start = new List<TopicPartitionOffset>(partitions.Count);
        var coPartitioned = new List<TopicPartitionOffset>();
        foreach (var partition in partitions)
        {
            var claim = Claim(partition.Partition.Value);
            var worker = new PartitionWorker(claim, _services);
            worker.Start();
            _workers[claim.Partition] = worker;
            start.Add(new TopicPartitionOffset(partition, StartOffset(claim, partition.Topic)));
            foreach (var topic in _topics.CoPartitionedTopics)
            {
                coPartitioned.Add(new TopicPartitionOffset(topic, claim.Partition, StartOffset(claim, topic)));
            }

            Log.PartitionAssigned(_logger, claim.Partition, claim.Epoch, string.Join(", ", claim.Offsets.Select(o => $"{o.Key}@{o.Value}")));
        }

        CoPartitioned?.AssignAsync(coPartitioned).GetAwaiter().GetResult();
        if (partitions.Count > 0)
        {
            Log.PartitionsAssigned(_logger, string.Join(",", partitions.Select(p => p.Partition.Value).Order()),
                (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Raise("assigned", partitions.Select(p => p.Partition.Value));
        }

        _services.Metrics.Rebalanced();
        _firstAssignment.TrySetResult();
        return start;
    }

    public void OnRevoked(IReadOnlyList<TopicPartition> partitions)
    {
        var workers = Detach(partitions);
        Release(workers, new DeactivationReason(DeactivationReasonCode.PartitionRevoked, "partition assigned to another silo"));
        Raise("revoked", workers.Select(w => w.Partition));
        _services.Metrics.Rebalanced();
    }

    public void OnLost(IReadOnlyList<TopicPartition> partitions)
    {
        var dropped = new List<int>();
        foreach (var worker in Detach(partitions))
        {
            if (TryDropAsync(worker).GetAwaiter().GetResult())
            {
                Log.PartitionLost(_logger, worker.Partition);
                dropped.Add(worker.Partition);
            }
        }

        Raise("lost", dropped);
        _services.Metrics.Rebalanced();
    }

    public void OnLeaving()
    {
        var partitions = _workers.Keys.Select(p => new TopicPartition(_topics.Readings, p)).ToList();
        var workers = Detach(partitions);
        Release(workers, new DeactivationReason(DeactivationReasonCode.ShuttingDown, "silo shutting down"));
    }

    /// <summary>
    /// Drops partitions whose lease another silo has claimed (this silo was presumed dead while it was
    /// stalled): their activations may hold state that must never be written.
    /// </summary>
    public async Task DropFencedAsync(IReadOnlyList<PartitionWorker> fenced)
    {
        foreach (var worker in fenced)
        {
            if (await TryDropAsync(worker).ConfigureAwait(false))
            {
                Log.PartitionFenced(_logger, worker.Partition, worker.Epoch);
            }
        }

        Raise("fenced", fenced.Select(w => w.Partition));
    }

    /// <summary>
    /// Stops <paramref name="worker"/> and drops its activations unsaved, if it is still this partition's worker: a
    /// partition lost in a rebalance may be dropping as fenced on the checkpoint thread at the same moment, and
    /// whoever removes it drops it.
    /// </summary>
    private async Task<bool> TryDropAsync(PartitionWorker worker)
    {
        if (!_workers.TryRemove(new KeyValuePair<int, PartitionWorker>(worker.Partition, worker)))
        {
            return false;
        }

        await worker.StopAsync().ConfigureAwait(false);
        worker.DropActivations();
        return true;
    }

    private List<PartitionWorker> Detach(IReadOnlyList<TopicPartition> partitions)
    {
        var workers = partitions
            .Select(p => _workers.TryGetValue(p.Partition.Value, out var worker) ? worker : null)
            .OfType<PartitionWorker>()
            .ToList();
        var coPartitioned = workers
            .SelectMany(w => _topics.CoPartitionedTopics.Select(t => new TopicPartition(t, w.Partition)))
            .ToList();
        // After this, no message of those partitions is on its way from the co-partitioned consumer.
        CoPartitioned?.UnassignAsync(coPartitioned).GetAwaiter().GetResult();
        return workers;
    }

    private void Release(List<PartitionWorker> workers, DeactivationReason reason)
    {
        if (workers.Count == 0)
        {
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Task.WhenAll(workers.Select(w => w.StopAsync())).GetAwaiter().GetResult();
        foreach (var worker in workers)
        {
            worker.DeactivateAllAsync(reason).GetAwaiter().GetResult();
        }

        if (!_checkpoints.IsPoisoned)
        {
            try
            {
                var outcome = _checkpoints.CheckpointAsync(workers, workersStopped: true, CancellationToken.None).GetAwaiter().GetResult();
                // On the group consumer's thread (we are in its rebalance callback): committed before the handover.
                Group?.CommitAsync(outcome.OffsetsOf(_topics.Readings)).GetAwaiter().GetResult();
                foreach (var topic in _topics.CoPartitionedTopics)
                {
                    _ = CoPartitioned?.CommitAsync(outcome.OffsetsOf(topic));
                }
            }
            catch (Exception e)
            {
                // The next owner resumes from the last stored checkpoint and re-processes since then.
                Log.ReleaseCheckpointFailed(_logger, string.Join(",", workers.Select(w => w.Partition)), e);
            }
        }

        foreach (var worker in workers)
        {
            worker.DropActivations();
            _workers.TryRemove(worker.Partition, out _);
        }

        Log.PartitionsReleased(_logger, string.Join(",", workers.Select(w => w.Partition).Order()), reason.Description,
            (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private PartitionClaim Claim(int partition)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        var deadline = _services.Time.GetUtcNow() + ClaimRetryLimit;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return _services.Store.ClaimPartitionAsync(_groupId, partition, _siloName, CancellationToken.None)
                    .GetAwaiter().GetResult();
            }
            catch (Exception e) when (_services.Time.GetUtcNow() < deadline)
            {
                Log.ClaimFailed(_logger, partition, attempt, e);
                Thread.Sleep(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private void Raise(string kind, IEnumerable<int> partitions)
    {
        var list = partitions.Order().ToList();
        if (list.Count > 0)
        {
            AssignmentChanged?.Invoke(kind, list);
        }
    }

    private static Offset StartOffset(PartitionClaim claim, string topic) =>
        claim.Offsets.TryGetValue(topic, out var offset) ? new Offset(offset) : Offset.Unset;
}
