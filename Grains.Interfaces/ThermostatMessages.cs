namespace Hearth.Grains.Interfaces;

/// <summary>An input message addressed to one thermostat's controller. The thermostat id is the Kafka key.</summary>
[GenerateSerializer]
public abstract record ThermostatMessage([property: Id(0)] string ThermostatId);

/// <summary>A temperature measured by a thermostat.</summary>
/// <param name="ThermostatId">The thermostat that measured it.</param>
/// <param name="Measurement">Degrees; always finite.</param>
/// <param name="Timestamp">When it was measured (the message's own field, else the Kafka message timestamp).</param>
[GenerateSerializer, Immutable, Alias("hearth.reading")]
public sealed record ThermostatReading(string ThermostatId, [property: Id(0)] double Measurement, [property: Id(1)] DateTimeOffset Timestamp)
    : ThermostatMessage(ThermostatId);

/// <summary>
/// The desired temperature and dead band of a thermostat: the heater goes on below
/// <c>Temperature - DownDelta</c> and off above <c>Temperature + UpDelta</c>.
/// </summary>
[GenerateSerializer, Immutable, Alias("hearth.setting")]
public sealed record ThermostatSetting(
    string ThermostatId, [property: Id(0)] double Temperature, [property: Id(1)] double UpDelta, [property: Id(2)] double DownDelta)
    : ThermostatMessage(ThermostatId);

/// <summary>What a heater is told to do.</summary>
[GenerateSerializer]
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
[GenerateSerializer, Immutable, Alias("hearth.command")]
public sealed record HeaterCommand(
    [property: Id(0)] string ThermostatId,
    [property: Id(1)] HeaterAction Action,
    [property: Id(2)] double Measurement,
    [property: Id(3)] double Setpoint,
    [property: Id(4)] long Seq,
    [property: Id(5)] DateTimeOffset Timestamp);
