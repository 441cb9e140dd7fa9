namespace Hearth.Grains.Interfaces;

/// <summary>An input message addressed to one thermostat's controller. The thermostat id is the Kafka key.</summary>
public abstract record ThermostatMessage(string ThermostatId);

/// <summary>A temperature measured by a thermostat.</summary>
/// <param name="ThermostatId">The thermostat that measured it.</param>
/// <param name="Measurement">Degrees; always finite.</param>
/// <param name="Timestamp">When it was measured (the message's own field, else the Kafka message timestamp).</param>
public sealed record ThermostatReading(string ThermostatId, double Measurement, DateTimeOffset Timestamp)
    : ThermostatMessage(ThermostatId);

/// <summary>
/// The desired temperature and dead band of a thermostat: the heater goes on below
/// <c>Temperature - DownDelta</c> and off above <c>Temperature + UpDelta</c>.
/// </summary>
public sealed record ThermostatSetting(string ThermostatId, double Temperature, double UpDelta, double DownDelta)
    : ThermostatMessage(ThermostatId);

/// <summary>What a heater is told to do.</summary>
public enum HeaterAction
{
    Off = 0,
    On = 1,
}

/// <summary>
/// A command for a thermostat's heater. <see cref="Seq"/> increases by one per command per thermostat,
/// so a consumer can drop duplicates by <c>(ThermostatId, Seq)</c>.
/// </summary>
/// <param name="Timestamp">The timestamp of the reading that caused the command.</param>
public sealed record HeaterCommand(
    string ThermostatId,
    HeaterAction Action,
    double Measurement,
    double Setpoint,
    long Seq,
    DateTimeOffset Timestamp);
