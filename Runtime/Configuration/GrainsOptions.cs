namespace Hearth.Runtime.Configuration;

/// <summary>Activation and persistence behaviour. Section <c>Grains</c>.</summary>
public sealed class GrainsOptions
{
    public const string SectionName = "Grains";

    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(10);
    public const int DefaultMaxQueuedMessagesPerPartition = 5_000;
    public static readonly TimeSpan DefaultPauseAfter = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How often changed grain states and the input offsets that produced them are written (one
    /// transaction) and acknowledged. Work since the last checkpoint is re-processed after a crash.
    /// </summary>
    /// <remarks>Allowed range 10 ms..10 min.</remarks>
    public TimeSpan CheckpointInterval { get; set; } = DefaultCheckpointInterval;

    /// <summary>An activation that has received nothing for this long is written and dropped from memory.</summary>
    /// <remarks>Allowed range 1 s..7 days.</remarks>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>
    /// Messages buffered per partition before its consumption is paused (resumed at half). Bounds memory
    /// and the time a rebalance waits for in-flight work.
    /// </summary>
    /// <remarks>Allowed range 10..1000000.</remarks>
    public int MaxQueuedMessagesPerPartition { get; set; } = DefaultMaxQueuedMessagesPerPartition;

    /// <summary>
    /// How long the consumer waits for room in a full partition queue before it pauses that partition.
    /// A partition that merely runs behind drains within this time and is not paused (pausing makes
    /// librdkafka discard and re-fetch what it prefetched); one that is stuck is paused so that the
    /// others go on. Zero pauses at once.
    /// </summary>
    /// <remarks>Allowed range 0..30 s.</remarks>
    public TimeSpan PauseAfter { get; set; } = DefaultPauseAfter;
}
