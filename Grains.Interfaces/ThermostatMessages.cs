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
/// <param name="SetBy">
/// Who published it through the HTTP API (an API key's name, a token's subject), from the Kafka header
/// <see cref="SetByHeader"/>; null for a setting published to Kafka directly. Not part of the JSON value.
/// </param>
[GenerateSerializer, Immutable, Alias("hearth.setting")]
public sealed record ThermostatSetting(
    string ThermostatId, [property: Id(0)] double Temperature, [property: Id(1)] double UpDelta, [property: Id(2)] double DownDelta,
    [property: Id(3)] string? SetBy = null)
    : ThermostatMessage(ThermostatId)
{
    /// <summary>The Kafka header naming who published a setting through the API (UTF-8).</summary>
    public const string SetByHeader = "hearth-setting-by";

    /// <summary>The lowest temperature a setting may ask for, in degrees; the same from Kafka as from the API.</summary>
    public const double MinTemperature = -50;

    /// <summary>The highest temperature a setting may ask for.</summary>
    public const double MaxTemperature = 100;

    /// <summary>The widest either side of the band may be.</summary>
    public const double MaxDelta = 50;

    /// <summary>Why <paramref name="value"/> cannot be the setting's <paramref name="field"/>, or null if it can.</summary>
    public static string? Problem(string field, double value) => field switch
    {
        "temperature" when !(value is >= MinTemperature and <= MaxTemperature) => $"{field} must be between {MinTemperature} and {MaxTemperature}; it is {value}",
        "upDelta" or "downDelta" when !(value is >= 0 and <= MaxDelta) => $"{field} must be between 0 and {MaxDelta}; it is {value}",
        _ => null,
    };
}

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

/// <summary>
/// Where an input was read: its offset in a partition of a source (a Kafka topic). Offsets order the inputs of
/// one partition; <paramref name="Log"/> tells apart two lives of a source under one name (a topic deleted and
/// created again starts its offsets over), so offsets are compared only within one log.
/// </summary>
/// <param name="Source">The topic.</param>
/// <param name="Log">
/// Which life of the source the offset counts in: the Kafka topic id, or where Kafka gives none the name of the broker's
/// logs (an embedded broker's incarnation); empty when nothing tells them apart, which is taken for any life.
/// </param>
[GenerateSerializer, Immutable, Alias("hearth.InputPosition")]
public readonly record struct InputPosition(
    [property: Id(0)] string Source,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Offset,
    [property: Id(3)] string Log);

/// <summary>A reading or setting for a controller, with where it was read and when it reached Kafka.</summary>
/// <param name="ArrivedAt">When the message reached Kafka (its message timestamp).</param>
[GenerateSerializer, Immutable, Alias("hearth.ThermostatInput")]
public sealed record ThermostatInput(
    [property: Id(0)] ThermostatMessage Message,
    [property: Id(1)] InputPosition Position,
    [property: Id(2)] DateTimeOffset ArrivedAt);

/// <summary>What one delivery brings one controller: its inputs of one partition, in the partition's order.</summary>
[GenerateSerializer, Immutable, Alias("hearth.ThermostatInputs")]
public sealed class ThermostatInputs
{
    public ThermostatInputs(ThermostatInput[] items, string deliveredBy)
    {
        ArgumentNullException.ThrowIfNull(items);
        Items = items;
        DeliveredBy = deliveredBy;
    }

    /// <summary>The inputs, in partition order.</summary>
    [Id(0)]
    public ThermostatInput[] Items { get; private set; }

    /// <summary>The silo that read the inputs from Kafka (its identity), so a controller can count local and remote deliveries.</summary>
    [Id(1)]
    public string DeliveredBy { get; private set; }
}
