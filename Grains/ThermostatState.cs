using System.Text.Json.Serialization;
using Hearth.Grains.Interfaces;

namespace Hearth.Grains;

/// <summary>The persistent state of one thermostat's controller.</summary>
public sealed class ThermostatState
{
    /// <summary>The format of this state as stored; raised when the format changes incompatibly.</summary>
    public const int CurrentFormat = 1;

    public int Format { get; set; } = CurrentFormat;

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

    /// <summary>
    /// The offset of the last input applied, per input stream and Kafka partition
    /// (<c>stream|topic/partition</c>): an input at or below it was applied already and is skipped.
    /// </summary>
    public Dictionary<string, long> Positions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The log incarnation <see cref="Positions"/> refer to (empty for a durable Kafka cluster).</summary>
    public string Incarnation { get; set; } = "";

    /// <summary>
    /// Records that the input at <paramref name="offset"/> of <paramref name="topic"/>[<paramref name="partition"/>]
    /// on <paramref name="stream"/> is being applied, unless it was applied already (false: skip it).
    /// Inputs of another log incarnation make the stored positions meaningless, so they are forgotten.
    /// </summary>
    public bool Advance(string stream, string topic, int partition, long offset, string incarnation)
    {
        if (!string.Equals(incarnation, Incarnation, StringComparison.Ordinal))
        {
            Positions.Clear();
            Incarnation = incarnation;
        }

        var key = $"{stream}|{topic}/{partition}";
        if (Positions.TryGetValue(key, out var applied) && offset <= applied)
        {
            return false;
        }

        Positions[key] = offset;
        return true;
    }
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
