using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Hearth.Runtime.Configuration;
using Hearth.Runtime.Processing;
using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Checkpointing;

/// <summary>
/// Makes partitions' progress durable: a snapshot of each partition (taken in turn with its messages),
/// then a producer flush so that every output of those turns is in Kafka, then one database transaction
/// with the changed grain states, the offsets and the forward marks. Only after that are the inputs
/// acknowledged. One checkpoint runs at a time.
/// </summary>
internal sealed class CheckpointCoordinator
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<TopicPartition, long> _storedOffsets = new();
    private readonly WorkerServices _services;
    private readonly string _groupId;
    private volatile bool _poisoned;

    public CheckpointCoordinator(WorkerServices services, IOptions<KafkaOptions> kafka)
    {
        _services = services;
        _groupId = kafka.Value.GroupId;
    }

    /// <summary>
    /// True after an output could not be delivered: from then on nothing may be acknowledged, because
    /// the input that caused the lost output would be skipped. The silo must restart and re-process.
    /// </summary>
    public bool IsPoisoned => _poisoned;

    /// <summary>The last stored next-offset of every input partition this silo has checkpointed.</summary>
    public IReadOnlyDictionary<TopicPartition, long> StoredOffsets => _storedOffsets;

    /// <summary>Raised after a checkpoint is stored (on the thread that stored it).</summary>
    public event Action? Stored;

    /// <summary>Checkpoints <paramref name="workers"/>.</summary>
    /// <param name="workersStopped">
    /// The workers have stopped (revocation, shutdown): their snapshots are taken directly instead of in turn.
    /// </param>
    /// <returns>What was stored and what was fenced.</returns>
    /// <exception cref="OutputDeliveryException">An output was not delivered; the silo is poisoned.</exception>
    public async Task<CheckpointOutcome> CheckpointAsync(
        IReadOnlyCollection<PartitionWorker> workers, bool workersStopped, CancellationToken cancellationToken)
    {
        if (workers.Count == 0)
        {
            return CheckpointOutcome.Empty;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_poisoned)
            {
                throw new OutputDeliveryException("An earlier output was not delivered; nothing more is acknowledged.");
            }

            var started = Stopwatch.GetTimestamp();
            var snapshots = workersStopped
                ? workers.Select(w => w.TakeSnapshot()).ToList()
                : (await Task.WhenAll(workers.Select(w => w.SnapshotAsync())).ConfigureAwait(false))
                    .OfType<PartitionSnapshot>().ToList();
            var changed = snapshots.Where(s => s.HasChanges).ToList();
            if (changed.Count == 0)
            {
                return CheckpointOutcome.Empty;
            }

            // Outputs of the snapshotted turns must be in Kafka before the inputs that caused them are acknowledged.
            if (!_services.Producer.Flush(FlushTimeout, cancellationToken))
            {
                throw new TimeoutException($"Outputs were not delivered within {FlushTimeout}; the checkpoint is retried.");
            }

            if (_services.Producer.DeliveryFailures > 0)
            {
                _poisoned = true;
                throw new OutputDeliveryException(
                    $"{_services.Producer.DeliveryFailures} output message(s) could not be delivered to Kafka.");
            }

            var result = await _services.Store
                .WriteCheckpointAsync(_groupId, changed.Select(s => s.Checkpoint).ToList(), cancellationToken)
                .ConfigureAwait(false);
            var fenced = result.FencedPartitions.ToHashSet();
            var stored = new List<PartitionSnapshot>(changed.Count);
            var fencedWorkers = new List<PartitionWorker>();
            foreach (var snapshot in changed)
            {
                if (fenced.Contains(snapshot.Checkpoint.Partition))
                {
                    _services.Metrics.PartitionFenced();
                    fencedWorkers.Add(snapshot.Worker);
                    continue;
                }

                snapshot.MarkStored();
                stored.Add(snapshot);
                foreach (var (topic, offset) in snapshot.Checkpoint.Offsets)
                {
                    _storedOffsets[new TopicPartition(topic, snapshot.Checkpoint.Partition)] = offset;
                }
            }

            _services.Metrics.CheckpointWritten(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Stored?.Invoke();
            return new CheckpointOutcome(stored, fencedWorkers);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _services.Metrics.CheckpointFailed();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>The result of a checkpoint.</summary>
/// <param name="Stored">The partitions whose snapshot is now durable.</param>
/// <param name="Fenced">Workers whose partition another silo has claimed: their snapshot was not written.</param>
internal sealed record CheckpointOutcome(IReadOnlyList<PartitionSnapshot> Stored, IReadOnlyList<PartitionWorker> Fenced)
{
    public static readonly CheckpointOutcome Empty = new([], []);

    /// <summary>The stored offsets of <paramref name="topic"/>, for Kafka's own offset commit.</summary>
    public IReadOnlyList<TopicPartitionOffset> OffsetsOf(string topic) =>
        Stored
            .Where(s => s.Checkpoint.Offsets.ContainsKey(topic))
            .Select(s => new TopicPartitionOffset(topic, s.Checkpoint.Partition, s.Checkpoint.Offsets[topic]))
            .ToList();
}

/// <summary>An output message could not be delivered to Kafka.</summary>
public sealed class OutputDeliveryException(string message) : Exception(message);
