using Hearth.Runtime.Storage;
using GrainActivation = Hearth.Runtime.Activation.Activation;

namespace Hearth.Runtime.Processing;

/// <summary>
/// What a partition must make durable, taken in one turn: the changed grain states and the offsets and
/// forward marks that produced them.
/// </summary>
internal sealed class PartitionSnapshot
{
    internal readonly record struct ActivationWrite(GrainActivation Activation, GrainStateWrite Write, long Changes);

    private readonly IReadOnlyList<ActivationWrite> _writes;
    private readonly long _progress;

    public PartitionSnapshot(PartitionWorker worker, PartitionCheckpoint checkpoint, IReadOnlyList<ActivationWrite> writes,
        long progress, bool progressed)
    {
        Worker = worker;
        Checkpoint = checkpoint;
        _writes = writes;
        _progress = progress;
        HasChanges = writes.Count > 0 || progressed;
    }

    public PartitionWorker Worker { get; }

    public PartitionCheckpoint Checkpoint { get; }

    /// <summary>Whether anything changed since the last stored checkpoint.</summary>
    public bool HasChanges { get; }

    /// <summary>Records that the checkpoint is stored: its activations are clean up to the snapshot.</summary>
    public void MarkStored()
    {
        foreach (var write in _writes)
        {
            write.Activation.StoredVersion = write.Write.Version;
            write.Activation.PersistedChanges = write.Changes;
        }

        Worker.OnSnapshotStored(_progress);
    }
}
