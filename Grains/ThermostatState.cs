using System.Text.Json.Serialization;
using Hearth.Grains.Interfaces;

namespace Hearth.Grains;

/// <summary>
/// The persistent state of one thermostat's controller: stored as JSON (<see cref="ThermostatStateJsonContext"/>),
/// and carried by Orleans' own serializer when the activation rebalancer migrates the grain to another silo.
/// </summary>
[GenerateSerializer, Alias("hearth.ThermostatState")]
public sealed class ThermostatState
{
    /// <summary>The format of this state as stored; raised when the format changes incompatibly.</summary>
    public const int CurrentFormat = 1;

    [Id(0)]
    public int Format { get; set; } = CurrentFormat;

    /// <summary>The desired temperature; null until the first setting.</summary>
    [Id(1)]
    public double? Temperature { get; set; }

    [Id(2)]
    public double UpDelta { get; set; }

    [Id(3)]
    public double DownDelta { get; set; }

    [Id(4)]
    public double? LastMeasurement { get; set; }

    [Id(5)]
    public DateTimeOffset? LastReadingAt { get; set; }

    /// <summary>The last action commanded; null before the first command.</summary>
    [Id(6)]
    public HeaterAction? Heater { get; set; }

    /// <summary>The <see cref="HeaterCommand.Seq"/> of the last command; 0 before the first.</summary>
    [Id(7)]
    public long Seq { get; set; }

    [Id(8)]
    public DateTimeOffset? LastCommandAt { get; set; }

    /// <summary>The last <see cref="ThermostatController.RecentCommandCount"/> commands, oldest first.</summary>
    [Id(9)]
    public List<RecentCommand> RecentCommands { get; set; } = [];

    /// <summary>
    /// The offset of the last input applied, per input stream and Kafka partition
    /// (<c>stream|topic/partition</c>): an input at or below it was applied already and is skipped.
    /// </summary>
    [Id(10)]
    public Dictionary<string, long> Positions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The log incarnation <see cref="Positions"/> refer to (empty for a durable Kafka cluster).</summary>
    [Id(11)]
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

        var key = PositionKey(stream, topic, partition);
        if (Positions.TryGetValue(key, out var applied) && offset <= applied)
        {
            return false;
        }

        Positions[key] = offset;
        return true;
    }

    /// <summary>
    /// Records that every input up to and including <paramref name="offset"/> of
    /// <paramref name="topic"/>[<paramref name="partition"/>] on <paramref name="stream"/> was applied
    /// (state carried over from elsewhere, consistent with that point of the partition).
    /// </summary>
    public void AppliedThrough(string stream, string topic, int partition, long offset) =>
        Positions[PositionKey(stream, topic, partition)] = offset;

    private static string PositionKey(string stream, string topic, int partition) => $"{stream}|{topic}/{partition}";

    /// <summary>
    /// Whether this state carries on from <paramref name="stored"/>: it applied every input the stored state
    /// applied (at or above its offset on each of its streams and partitions, in the same log incarnation) and
    /// the commands the stored state remembers are this state's commands of the same numbers. Inputs arrive in
    /// order per partition, so such a state is the stored one with more inputs applied, and may replace it.
    /// </summary>
    public bool Extends(ThermostatState stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (!string.Equals(stored.Incarnation, Incarnation, StringComparison.Ordinal) || stored.Seq > Seq)
        {
            return false;
        }

        foreach (var (key, offset) in stored.Positions)
        {
            if (!Positions.TryGetValue(key, out var mine) || mine < offset)
            {
                return false;
            }
        }

        if (stored.Seq == 0)
        {
            return true;
        }

        // Two activations may have applied different inputs and decided differently: the
        // stored commands (Kafka has them) must be this state's too. Beyond what this state remembers, nothing
        // can be compared, so it does not replace the stored state.
        var oldest = RecentCommands.Count > 0 ? RecentCommands[0].Seq : long.MaxValue;
        return stored.Seq >= oldest && stored.RecentCommands.Where(c => c.Seq >= oldest).All(RecentCommands.Contains);
    }
}

/// <summary>A command as kept in the state (the thermostat id is the grain's key).</summary>
[GenerateSerializer, Immutable, Alias("hearth.RecentCommand")]
public sealed record RecentCommand(
    [property: Id(0)] HeaterAction Action,
    [property: Id(1)] double Measurement,
    [property: Id(2)] double Setpoint,
    [property: Id(3)] long Seq,
    [property: Id(4)] DateTimeOffset Timestamp);

/// <summary>System.Text.Json metadata for the stored state (source-generated, no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ThermostatState))]
public sealed partial class ThermostatStateJsonContext : JsonSerializerContext;
