namespace Hearth.Runtime.Configuration;

/// <summary>The topics a silo reads and writes. Section <c>Topics</c>.</summary>
/// <remarks>
/// Readings and settings must have the same partition count: partition <c>p</c> of both is one unit
/// of ownership, held by one silo. The readings topic is the one the consumer group balances; the
/// owner of readings partition <c>p</c> also reads settings partition <c>p</c>. The two may be the
/// same topic.
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

    /// <summary>The input topics: readings first (the one the group balances), then settings if distinct.</summary>
    public IReadOnlyList<string> InputTopics =>
        string.Equals(Readings, Settings, StringComparison.Ordinal) ? [Readings] : [Readings, Settings];

    /// <summary>
    /// The input topics read alongside the readings topic, partition for partition (settings, unless it is the
    /// readings topic itself).
    /// </summary>
    public IReadOnlyList<string> CoPartitionedTopics => InputTopics.Skip(1).ToArray();

    /// <summary>The topic of an output stream registered under <paramref name="streamName"/>.</summary>
    /// <exception cref="ArgumentException">No topic is configured for that stream.</exception>
    public string GetOutputTopic(string streamName) => streamName switch
    {
        nameof(Commands) => Commands,
        nameof(DeadLetter) => DeadLetter,
        _ => throw new ArgumentException(
            $"No topic is configured for output stream '{streamName}' (expected Topics:{streamName}).",
            nameof(streamName)),
    };
}
