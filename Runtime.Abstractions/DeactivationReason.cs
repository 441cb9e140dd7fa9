namespace Hearth.Runtime;

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReasonCode
{
    /// <summary>It received no message for the configured idle time.</summary>
    IdleTimeout,

    /// <summary>Its partition was assigned to another silo in a rebalance.</summary>
    PartitionRevoked,

    /// <summary>Its partition was lost (this silo was considered dead); its state is not written.</summary>
    PartitionLost,

    /// <summary>The silo is shutting down.</summary>
    ShuttingDown,
}

/// <summary>Why an activation is being deactivated, with a description for logs.</summary>
public readonly record struct DeactivationReason(DeactivationReasonCode Code, string Description);
