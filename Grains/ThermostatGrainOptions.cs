namespace Hearth.Grains;

/// <summary>How the thermostat grains keep their state. Section <c>Grains</c>.</summary>
public sealed class ThermostatGrainOptions
{
    public const string SectionName = "Grains";

    public static readonly TimeSpan DefaultWriteBehindInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often a controller whose last inputs changed only its last measurement writes its state (decisions,
    /// settings and commands, are written at once). A crash loses at most this much of the last measurements.
    /// </summary>
    public TimeSpan WriteBehindInterval { get; set; } = DefaultWriteBehindInterval;

    /// <summary>
    /// How long a controller's inputs are retried while applying them fails (storage or Kafka down, a failing
    /// controller) before they are dead-lettered and its partition goes on.
    /// </summary>
    public TimeSpan MaxDeliveryTime { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Where the thermostat grains' state is stored.</summary>
public static class ThermostatStorage
{
    /// <summary>The grain storage provider's name.</summary>
    public const string ProviderName = "thermostats";

    /// <summary>The state's name in storage (unique per grain class, it is part of the stored identity).</summary>
    public const string StateName = "thermostat";
}
