namespace Hearth.Runtime.Membership;

/// <summary>
/// Who is in the cluster: one row per silo with its status and heartbeat (the Orleans membership table),
/// and a log of cluster events (status changes, partition moves). Kafka's consumer group decides
/// placement; this table is what people and request forwarding read.
/// </summary>
public interface IMembershipTable
{
    /// <summary>Inserts or replaces this silo's row (a restarted silo of the same name starts afresh).</summary>
    Task RegisterAsync(string groupId, SiloRecord silo, CancellationToken cancellationToken);

    /// <summary>Records a heartbeat with what the silo owns and does now.</summary>
    Task HeartbeatAsync(string groupId, string siloName, SiloHeartbeat heartbeat, CancellationToken cancellationToken);

    /// <summary>Changes a silo's status and logs the change.</summary>
    Task SetStatusAsync(string groupId, string siloName, SiloStatus status, long atMs, CancellationToken cancellationToken);

    /// <summary>
    /// Marks dead every silo not dead whose last heartbeat is older than <paramref name="heartbeatBeforeMs"/>,
    /// logging each change once even when several silos do this at the same time.
    /// </summary>
    /// <returns>The silos this call marked dead.</returns>
    Task<IReadOnlyList<string>> MarkStaleDeadAsync(string groupId, long heartbeatBeforeMs, long atMs, string bySilo, CancellationToken cancellationToken);

    /// <summary>Every silo of the group, dead ones included.</summary>
    Task<IReadOnlyList<SiloRecord>> ReadSilosAsync(string groupId, CancellationToken cancellationToken);

    /// <summary>Appends to the cluster event log.</summary>
    Task AddEventAsync(string groupId, ClusterEvent clusterEvent, CancellationToken cancellationToken);

    /// <summary>The newest events, newest first.</summary>
    Task<IReadOnlyList<ClusterEvent>> ReadEventsAsync(string groupId, int limit, CancellationToken cancellationToken);
}

/// <summary>A silo's lifecycle as the membership table shows it.</summary>
public enum SiloStatus
{
    /// <summary>Started; waiting for the consumer group's first assignment.</summary>
    Joining,

    /// <summary>Has its assignment and processes its partitions.</summary>
    Active,

    /// <summary>Stopping: releasing its partitions.</summary>
    ShuttingDown,

    /// <summary>Stopped, or silent for longer than <c>Membership:DeadAfter</c>.</summary>
    Dead,
}

/// <summary>A silo's row.</summary>
/// <param name="Partitions">The partitions it owns, ascending.</param>
/// <param name="Stats">Its latest figures as JSON (messages/s, CPU, memory...), for the dashboard.</param>
public sealed record SiloRecord(
    string Name,
    string Host,
    string? HttpAddress,
    long StartedAtMs,
    SiloStatus Status,
    long HeartbeatAtMs,
    IReadOnlyList<int> Partitions,
    long Activations,
    string? Stats);

/// <summary>What a heartbeat records.</summary>
public sealed record SiloHeartbeat(long AtMs, string? HttpAddress, IReadOnlyList<int> Partitions, long Activations, string? Stats);

/// <summary>An entry of the cluster event log.</summary>
/// <param name="Kind">For example <c>status</c>, <c>assigned</c>, <c>revoked</c>, <c>lost</c>, <c>fenced</c>.</param>
public sealed record ClusterEvent(long AtMs, string SiloName, string Kind, string Detail);
