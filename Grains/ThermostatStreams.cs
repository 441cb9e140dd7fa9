namespace Hearth.Grains;

/// <summary>
/// The streams the thermostat grains use, all of one Kafka stream provider. Namespaces are names of their
/// own, not topics: the host maps them to the configured topics, so renaming a topic needs no rebuild.
/// </summary>
public static class ThermostatStreams
{
    /// <summary>The stream provider's name.</summary>
    public const string Provider = "kafka";

    /// <summary>
    /// The partitions of the readings topic: readings, and settings too when they share the topic (stream key: the
    /// partition number; events: <see cref="Interfaces.ThermostatInput"/>).
    /// </summary>
    public const string Readings = "thermostat-readings";

    /// <summary>The partitions of a settings topic of its own (stream key: the partition number).</summary>
    public const string Settings = "thermostat-settings";

    /// <summary>Heater commands (stream key: the thermostat id, the Kafka key of the command).</summary>
    public const string Commands = "heater-commands";
}
