using Confluent.Kafka;
using Hearth.Runtime.Checkpointing;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Processing;

namespace Hearth.Runtime.Hosting;

/// <summary>What the runtime is doing, for health checks, the HTTP API and tests.</summary>
public sealed class GrainRuntimeStatus
{
    private readonly PartitionManager _partitions;
    private readonly CheckpointCoordinator _checkpoints;

    private readonly TopicLayout _layout;

    internal GrainRuntimeStatus(PartitionManager partitions, CheckpointCoordinator checkpoints, RuntimeMetrics metrics, TopicLayout layout)
    {
        _layout = layout;
        _partitions = partitions;
        _checkpoints = checkpoints;
        Metrics = metrics;
    }

    /// <summary>Completes when the consumer group has given this silo its first assignment.</summary>
    public Task FirstAssignment => _partitions.FirstAssignment;

    /// <summary>The partitions this silo owns now.</summary>
    public IReadOnlyCollection<int> OwnedPartitions => _partitions.OwnedPartitions;

    /// <summary>Activations in memory, over all owned partitions.</summary>
    public long Activations => Metrics.Activations;

    /// <summary>True once an output was lost: the silo acknowledges nothing more and is stopping.</summary>
    public bool IsPoisoned => _checkpoints.IsPoisoned;

    public RuntimeMetrics Metrics { get; }

    /// <summary>Partitions of the input topics (0 until the runtime has read them from Kafka).</summary>
    public int PartitionCount => _layout.IsKnown ? _layout.PartitionCount : 0;

    /// <summary>
    /// The next offset of each input partition as last stored by this silo: everything before it is
    /// durable, and every output it caused is in Kafka.
    /// </summary>
    public IReadOnlyDictionary<TopicPartition, long> StoredOffsets => _checkpoints.StoredOffsets;

    /// <summary>
    /// Raised when partitions are assigned, revoked, lost or fenced: the kind (<c>assigned</c>, <c>revoked</c>,
    /// <c>lost</c>, <c>fenced</c>) and the partitions. Raised on the thread that handled the change.
    /// </summary>
    public event Action<string, IReadOnlyList<int>>? AssignmentChanged
    {
        add => _partitions.AssignmentChanged += value;
        remove => _partitions.AssignmentChanged -= value;
    }

    /// <summary>Raised after each sweep for idle activations (every max(CheckpointInterval, IdleTimeout / 4)).</summary>
    public event Action? IdleSweepCompleted;

    internal void OnIdleSweepCompleted() => IdleSweepCompleted?.Invoke();

    /// <summary>Raised after each stored checkpoint.</summary>
    public event Action? CheckpointStored
    {
        add => _checkpoints.Stored += value;
        remove => _checkpoints.Stored -= value;
    }
}
