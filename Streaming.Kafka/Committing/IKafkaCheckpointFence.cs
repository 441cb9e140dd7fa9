namespace Hearth.Streaming.Kafka.Committing;

/// <summary>
/// Whether this silo may still commit the checkpoints of the partitions it pulls. A silo that stalled (a long pause,
/// a network partition) long enough to be declared dead has had its partitions taken over; woken, it must not commit
/// its stale checkpoints over its successors'. Kafka fences a commit only for members of a consumer group or within a
/// transaction, and the provider's consumers are neither (Orleans assigns the partitions), so the silo asks before
/// each round of commits.
/// </summary>
public interface IKafkaCheckpointFence
{
    /// <summary>
    /// How long an answer of <see cref="RefusalAsync"/> holds, counted from when it was asked: shorter than the time
    /// the cluster takes to declare a silo that stopped answering dead, so a silo that stalled after asking finds its
    /// answer expired when it wakes.
    /// </summary>
    TimeSpan Lease { get; }

    /// <summary>Null when this silo may commit its partitions' checkpoints; otherwise why it may not.</summary>
    Task<string?> RefusalAsync(CancellationToken cancellationToken);
}
