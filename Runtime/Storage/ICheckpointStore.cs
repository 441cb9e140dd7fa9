namespace Hearth.Runtime.Storage;

/// <summary>
/// Durable storage of grain states, input offsets and partition leases (the Orleans checkpointer and
/// grain storage in one, because they must change in one transaction).
/// </summary>
public interface ICheckpointStore
{
    /// <summary>Creates or migrates the schema. Safe to call from several silos at once.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lease of partition <paramref name="partition"/> for <paramref name="owner"/>: increments
    /// its epoch, which fences every earlier owner, and returns what is stored for the partition.
    /// </summary>
    Task<PartitionClaim> ClaimPartitionAsync(string groupId, int partition, string owner, CancellationToken cancellationToken);

    /// <summary>The stored state of a grain, or null if none was stored.</summary>
    Task<StoredGrainState?> ReadGrainStateAsync(string grainType, string key, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the checkpoints of several partitions in one transaction. A partition whose lease epoch has
    /// moved on (another silo claimed it) is fenced: nothing of it is written and it is reported back.
    /// </summary>
    Task<CheckpointWriteResult> WriteCheckpointAsync(
        string groupId, IReadOnlyList<PartitionCheckpoint> checkpoints, CancellationToken cancellationToken);

    /// <summary>Forgets the stored offsets and forward marks of a group (its broker's log is gone).</summary>
    Task DiscardOffsetsAsync(string groupId, CancellationToken cancellationToken);
}

/// <summary>A partition's lease and stored progress.</summary>
/// <param name="Epoch">The lease epoch this owner must present when writing.</param>
/// <param name="Offsets">The next offset to process, per input topic.</param>
/// <param name="ForwardMarks">The highest source offset applied per source of forwarded messages.</param>
public sealed record PartitionClaim(
    int Partition,
    long Epoch,
    IReadOnlyDictionary<string, long> Offsets,
    IReadOnlyList<ForwardMark> ForwardMarks);

/// <summary>
/// For messages forwarded into <c>(Topic, Partition)</c> from <c>(SourceTopic, SourcePartition)</c>: the
/// highest source offset already applied. Forwarded copies at or below it are duplicates.
/// </summary>
public readonly record struct ForwardMark(string Topic, int Partition, string SourceTopic, int SourcePartition, long SourceOffset);

/// <summary>A stored grain state.</summary>
/// <param name="Version">Incremented by every write.</param>
public sealed record StoredGrainState(string Json, long Version);

/// <summary>One grain state to write.</summary>
/// <param name="Version">The new version (the stored one plus one).</param>
public sealed record GrainStateWrite(string GrainType, string Key, string Json, long Version);

/// <summary>Everything to make durable for one partition, consistent with one point in its input.</summary>
public sealed record PartitionCheckpoint(
    int Partition,
    long Epoch,
    IReadOnlyList<GrainStateWrite> States,
    IReadOnlyDictionary<string, long> Offsets,
    IReadOnlyList<ForwardMark> ForwardMarks);

/// <summary>The outcome of <see cref="ICheckpointStore.WriteCheckpointAsync"/>.</summary>
/// <param name="FencedPartitions">Partitions not written because their lease moved to another owner.</param>
public sealed record CheckpointWriteResult(IReadOnlyList<int> FencedPartitions);
