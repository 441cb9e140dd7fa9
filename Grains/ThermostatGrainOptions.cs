namespace Hearth.Grains;

/// <summary>
/// How the controller grains live and keep their state. Section <c>Grains</c>, checked by
/// <see cref="ThermostatGrainOptionsValidator"/>. The grain and the dispatcher read <see cref="WriteBehindInterval"/> and
/// <see cref="MaxAttempts"/>; the silo applies the rest to Orleans (collection age, placement, rebalancer).
/// </summary>
public sealed class ThermostatGrainOptions
{
    public const string SectionName = "Grains";

    public const string ResourceOptimizedPlacement = "resource-optimized";
    public const string PreferLocalPlacement = "prefer-local";

    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan DefaultWriteBehindInterval = TimeSpan.FromSeconds(10);
    public const int DefaultMaxAttempts = 5;

    /// <summary>A controller that has received nothing for this long is written and collected by Orleans.</summary>
    /// <remarks>Allowed range 2 s..7 days.</remarks>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>
    /// How often a controller whose last inputs changed only its last measurement writes its state (decisions,
    /// settings and commands, are written at once). A crash loses at most this much of the last measurements.
    /// </summary>
    /// <remarks>Allowed range 100 ms..1 h.</remarks>
    public TimeSpan WriteBehindInterval { get; set; } = DefaultWriteBehindInterval;

    /// <summary>
    /// How many times a controller may fail to apply the same inputs, for a reason that is its own (not storage,
    /// Kafka or the cluster being unavailable, which are waited out however long they last), before those inputs are
    /// dead-lettered and its partition goes on.
    /// </summary>
    /// <remarks>Allowed range 1..1000.</remarks>
    public int MaxAttempts { get; set; } = DefaultMaxAttempts;

    /// <summary>
    /// Where a new controller activation goes: <c>resource-optimized</c> (Orleans' default: the least loaded
    /// silo) or <c>prefer-local</c> (the silo that delivers its first input).
    /// </summary>
    public string Placement { get; set; } = ResourceOptimizedPlacement;

    /// <summary>Let Orleans' activation rebalancer move existing controllers onto silos that join.</summary>
    public bool Rebalance { get; set; } = true;
}

/// <summary>Where the thermostat grains' state is stored.</summary>
public static class ThermostatStorage
{
    /// <summary>The grain storage provider's name.</summary>
    public const string ProviderName = "thermostats";

    /// <summary>The state's name in storage (unique per grain class, it is part of the stored identity).</summary>
    public const string StateName = "thermostat";
}
