namespace Hearth.Silo.Configuration;

/// <summary>The topics a silo reads and writes. Section <c>Topics</c>.</summary>
/// <remarks>
/// Readings and settings may be one topic (told apart by their fields) and may have different partition
/// counts: every partition is an Orleans queue of its own, and messages reach their thermostat by key.
/// </remarks>
public sealed class TopicsOptions
{
    public const string SectionName = "Topics";

    public const string DefaultReadings = "thermostat-readings";
    public const string DefaultSettings = "thermostat-settings";
    public const string DefaultCommands = "heater-commands";
    public const string DefaultDeadLetter = "thermostat-deadletter";
    public const int DefaultPartitions = 8;

    public string Readings { get; set; } = DefaultReadings;

    public string Settings { get; set; } = DefaultSettings;

    public string Commands { get; set; } = DefaultCommands;

    public string DeadLetter { get; set; } = DefaultDeadLetter;

    /// <summary>Partitions per topic when the embedded broker creates them.</summary>
    /// <remarks>Allowed range 1..10000. Partition count bounds parallelism: over-provision it.</remarks>
    public int Partitions { get; set; } = DefaultPartitions;

    /// <summary>The input topics: readings first, then settings if distinct.</summary>
    public IReadOnlyList<string> InputTopics =>
        string.Equals(Readings, Settings, StringComparison.Ordinal) ? [Readings] : [Readings, Settings];

    /// <summary>Every topic with the key that names it.</summary>
    public IReadOnlyList<(string Key, string Topic)> All =>
    [
        ($"{SectionName}:{nameof(Readings)}", Readings),
        ($"{SectionName}:{nameof(Settings)}", Settings),
        ($"{SectionName}:{nameof(Commands)}", Commands),
        ($"{SectionName}:{nameof(DeadLetter)}", DeadLetter),
    ];
}
