using System.Text.Json.Serialization;
using Hearth.Grains.Interfaces;

namespace Hearth.Grains;

/// <summary>The persistent state of one thermostat's controller.</summary>
public sealed class ThermostatState
{
    /// <summary>The desired temperature; null until the first setting.</summary>
    public double? Temperature { get; set; }

    public double UpDelta { get; set; }

    public double DownDelta { get; set; }

    public double? LastMeasurement { get; set; }

    public DateTimeOffset? LastReadingAt { get; set; }

    /// <summary>The last action commanded; null before the first command.</summary>
    public HeaterAction? Heater { get; set; }

    /// <summary>The <see cref="HeaterCommand.Seq"/> of the last command; 0 before the first.</summary>
    public long Seq { get; set; }

    public DateTimeOffset? LastCommandAt { get; set; }

    /// <summary>The last <see cref="ThermostatController.RecentCommandCount"/> commands, oldest first.</summary>
    public List<RecentCommand> RecentCommands { get; set; } = [];
}

/// <summary>A command as kept in the state (the thermostat id is the grain's key).</summary>
public sealed record RecentCommand(HeaterAction Action, double Measurement, double Setpoint, long Seq, DateTimeOffset Timestamp);

/// <summary>System.Text.Json metadata for the stored state (source-generated, no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ThermostatState))]
public sealed partial class ThermostatStateJsonContext : JsonSerializerContext;
