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
    /// <summary>
    /// The format of this state as stored; raised when the format changes incompatibly. 2: positions per source
    /// partition, each with its log (<see cref="Applied"/>).
    /// </summary>
    public const int CurrentFormat = 2;

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
    /// The position of the last input applied from each source partition: an input at or below it (in the same
    /// log) was applied already and is skipped.
    /// </summary>
    [Id(10)]
    public List<InputPosition> Applied { get; set; } = [];

    /// <summary>Positions as format 1 stored them (<c>stream|topic/partition</c>); read once and carried into <see cref="Applied"/>.</summary>
    [Id(11)]
    public Dictionary<string, long>? Positions { get; set; }

    /// <summary>The log the format-1 <see cref="Positions"/> refer to.</summary>
    [Id(12)]
    public string? Incarnation { get; set; }

    /// <summary>
    /// Commands decided and recorded here but not known to be in Kafka, oldest first (null when there are none). A
    /// command is written here before it is published, and published again (with its <c>seq</c>) until Kafka has it,
    /// so what Kafka has and what this state says the heater was told never disagree for long, whatever fails.
    /// </summary>
    [Id(13)]
    public List<RecentCommand>? Unpublished { get; set; }

    /// <summary>Who published the setting in force through the API (<see cref="ThermostatSetting.SetBy"/>); null if it came to Kafka otherwise.</summary>
    [Id(14)]
    public string? LastSettingBy { get; set; }

    /// <summary>
    /// Records that the input at <paramref name="position"/> is being applied, unless it was applied already (false:
    /// skip it). An input of another log of its source partition (a topic created again: another Kafka topic id)
    /// starts that partition over.
    /// </summary>
    /// <remarks>
    /// An empty log names no life in particular: positions stored before the silos knew topic ids, and input read where
    /// Kafka gives none (a broker before Kafka 2.8). It is taken for the same life as any other, so its offsets are
    /// compared as they always were, and the first named log that meets it takes its place. Otherwise the first input
    /// read by topic id after an upgrade would start its partition over and apply again what was applied since the
    /// partition's last checkpoint.
    /// </remarks>
    public bool Advance(InputPosition position)
    {
        for (var i = 0; i < Applied.Count; i++)
        {
            var applied = Applied[i];
            if (applied.Partition != position.Partition || !string.Equals(applied.Source, position.Source, StringComparison.Ordinal))
            {
                continue;
            }

            var sameLog = SameLog(applied.Log, position.Log);
            if (sameLog && position.Offset <= applied.Offset)
            {
                return false;
            }

            // The input's strings replace equal ones read from storage: one copy per silo, not one per controller. An
            // input without a log keeps the named one it carries on from.
            Applied[i] = sameLog && string.IsNullOrEmpty(position.Log) ? position with { Log = applied.Log } : position;
            return true;
        }

        Applied.Add(position);
        return true;
    }

    /// <summary>Whether offsets of the two logs count in the same life of a partition (an empty log is any life).</summary>
    private static bool SameLog(string one, string other) =>
        string.IsNullOrEmpty(one) || string.IsNullOrEmpty(other) || string.Equals(one, other, StringComparison.Ordinal);

    /// <summary>Carries format-1 positions (<c>stream|topic/partition</c> with one incarnation) into <see cref="Applied"/>.</summary>
    public void Upgrade()
    {
        if (Format == CurrentFormat)
        {
            return;
        }

        foreach (var (key, offset) in Positions ?? [])
        {
            var topicPartition = key[(key.IndexOf('|', StringComparison.Ordinal) + 1)..];
            var slash = topicPartition.LastIndexOf('/');
            if (slash > 0 && int.TryParse(topicPartition.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture, out var partition))
            {
                Advance(new InputPosition(topicPartition[..slash], partition, offset, Incarnation ?? ""));
            }
        }

        Positions = null;
        Incarnation = null;
        Format = CurrentFormat;
    }

    /// <summary>
    /// Whether this state carries on from <paramref name="stored"/>: it applied every input the stored state
    /// applied (at or above its offset in each of its source partitions, in the same log, see <see cref="Advance"/>) and the commands the
    /// stored state remembers are this state's commands of the same numbers. Inputs arrive in order per partition,
    /// so such a state is the stored one with more inputs applied, and may replace it.
    /// </summary>
    public bool Extends(ThermostatState stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Seq > Seq)
        {
            return false;
        }

        foreach (var theirs in stored.Applied)
        {
            if (!Applied.Exists(mine => mine.Source == theirs.Source && mine.Partition == theirs.Partition && SameLog(mine.Log, theirs.Log) && mine.Offset >= theirs.Offset))
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
    [property: Id(4)] DateTimeOffset Timestamp)
{
    /// <summary>What the state keeps of <paramref name="command"/>.</summary>
    public static RecentCommand Of(HeaterCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return new(command.Action, command.Measurement, command.Setpoint, command.Seq, command.Timestamp);
    }

    /// <summary>The command as it is published for thermostat <paramref name="thermostatId"/>.</summary>
    public HeaterCommand For(string thermostatId) => new(thermostatId, Action, Measurement, Setpoint, Seq, Timestamp);
}

/// <summary>System.Text.Json metadata for the stored state (source-generated, no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ThermostatState))]
public sealed partial class ThermostatStateJsonContext : JsonSerializerContext;
