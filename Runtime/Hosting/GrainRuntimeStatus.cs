using Hearth.Runtime.Checkpointing;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Processing;

namespace Hearth.Runtime.Hosting;

/// <summary>What the runtime is doing, for health checks, the HTTP API and tests.</summary>
public sealed class GrainRuntimeStatus
{
    private readonly PartitionManager _partitions;
    private readonly CheckpointCoordinator _checkpoints;

    internal GrainRuntimeStatus(PartitionManager partitions, CheckpointCoordinator checkpoints, RuntimeMetrics metrics)
    {
        _partitions = partitions;
        _checkpoints = checkpoints;
        Metrics = metrics;
    }

    /// <summary>Completes when the consumer group has given this silo its first assignment.</summary>
    public Task FirstAssignment => _partitions.FirstAssignment;

    /// <summary>The partitions this silo owns now.</summary>
    public IReadOnlyCollection<int> OwnedPartitions => _partitions.OwnedPartitions;

    /// <summary>Activations in memory, over all owned partitions.</summary>
    public int Activations => _partitions.Workers.Sum(w => w.ActivationCount);

    /// <summary>True once an output was lost: the silo acknowledges nothing more and is stopping.</summary>
    public bool IsPoisoned => _checkpoints.IsPoisoned;

    public RuntimeMetrics Metrics { get; }
}
