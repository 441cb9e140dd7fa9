namespace Hearth.Silo.Configuration;

/// <summary>How the controller grains live and keep their state. Section <c>Grains</c>.</summary>
public sealed class GrainsOptions
{
    public const string SectionName = "Grains";

    public const string ResourceOptimizedPlacement = "resource-optimized";
    public const string PreferLocalPlacement = "prefer-local";

    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan DefaultMaxDeliveryTime = TimeSpan.FromMinutes(1);

    /// <summary>A controller that has received nothing for this long is written and collected by Orleans.</summary>
    /// <remarks>Allowed range 2 s..7 days.</remarks>
    public TimeSpan IdleTimeout { get; set; } = DefaultIdleTimeout;

    /// <summary>How often a controller whose inputs only refreshed its last measurement writes its state.</summary>
    /// <remarks>Allowed range 100 ms..1 h.</remarks>
    public TimeSpan WriteBehindInterval { get; set; } = Hearth.Grains.ThermostatGrainOptions.DefaultWriteBehindInterval;

    /// <summary>
    /// How long a delivery to a controller is retried (storage or Kafka down, a failing grain) before the
    /// input is dead-lettered and the stream goes on.
    /// </summary>
    /// <remarks>Allowed range 1 s..1 day.</remarks>
    public TimeSpan MaxDeliveryTime { get; set; } = DefaultMaxDeliveryTime;

    /// <summary>
    /// Where a new controller activation goes: <c>resource-optimized</c> (Orleans' default: the least loaded
    /// silo) or <c>prefer-local</c> (the silo that delivers its first input).
    /// </summary>
    public string Placement { get; set; } = ResourceOptimizedPlacement;

    /// <summary>Let Orleans' activation rebalancer move existing controllers onto silos that join.</summary>
    public bool Rebalance { get; set; } = true;
}
