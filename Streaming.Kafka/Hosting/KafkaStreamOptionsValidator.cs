namespace Hearth.Streaming.Kafka.Hosting;

/// <summary>Checks a provider's <see cref="KafkaStreamOptions"/> when the silo starts; every message names the option.</summary>
public sealed class KafkaStreamOptionsValidator(KafkaStreamOptions options, string name) : IConfigurationValidator
{
    public void ValidateConfiguration()
    {
        var failures = Validate(options);
        if (failures.Count > 0)
        {
            throw new OrleansConfigurationException(
                $"Kafka stream provider '{name}' is misconfigured: {string.Join(" ", failures)}");
        }
    }

    /// <summary>What is wrong with <paramref name="options"/>, one sentence per problem.</summary>
    public static IReadOnlyList<string> Validate(KafkaStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            failures.Add($"{nameof(options.BootstrapServers)} is required.");
        }

        if (string.IsNullOrWhiteSpace(options.GroupId))
        {
            failures.Add($"{nameof(options.GroupId)} is required.");
        }

        if (options.Topics.Count == 0)
        {
            failures.Add($"{nameof(options.Topics)} must name at least one topic to read.");
        }

        foreach (var topic in options.Topics.Where(t => !KafkaTopicNames.IsValid(t)))
        {
            failures.Add($"{nameof(options.Topics)} contains '{topic}', which is not a valid Kafka topic name.");
        }

        if (options.Topics.Distinct(StringComparer.Ordinal).Count() != options.Topics.Count)
        {
            failures.Add($"{nameof(options.Topics)} names a topic twice.");
        }

        if (!KafkaTopicNames.IsValid(options.DeadLetterTopic))
        {
            failures.Add($"{nameof(options.DeadLetterTopic)} must be a valid Kafka topic name; it is '{options.DeadLetterTopic}'.");
        }
        else if (options.Topics.Contains(options.DeadLetterTopic, StringComparer.Ordinal))
        {
            failures.Add($"{nameof(options.DeadLetterTopic)} must not be one of the topics read.");
        }

        foreach (var (ns, topic) in options.NamespaceTopics.Where(e => !KafkaTopicNames.IsValid(e.Value)))
        {
            failures.Add($"{nameof(options.NamespaceTopics)} maps '{ns}' to '{topic}', which is not a valid Kafka topic name.");
        }

        Range(failures, nameof(options.MaxBatchSize), options.MaxBatchSize, 1, 100_000);
        Range(failures, nameof(options.CacheSize), options.CacheSize, 1, 10_000_000);
        Range(failures, nameof(options.SiloCacheSize), options.SiloCacheSize, 1, 100_000_000);
        Range(failures, nameof(options.AutoCommitIntervalMs), options.AutoCommitIntervalMs, 10, 3_600_000);
        Range(failures, nameof(options.QueuedMinMessages), options.QueuedMinMessages, 1, 10_000_000);
        Range(failures, nameof(options.QueuedMaxMessagesKbytes), options.QueuedMaxMessagesKbytes, 1, 2_097_151);
        Range(failures, nameof(options.LingerMs), options.LingerMs, 0, 900_000);
        if (options.MetadataTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(options.MetadataTimeout)} must be positive; it is {options.MetadataTimeout}.");
        }

        return failures;
    }

    private static void Range(List<string> failures, string option, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{option} must be between {min} and {max}; it is {value}.");
        }
    }
}

/// <summary>Kafka's rule for topic names.</summary>
public static class KafkaTopicNames
{
    /// <summary>1 to 249 characters of <c>a-z A-Z 0-9 . _ -</c>, and not <c>.</c> or <c>..</c>.</summary>
    public static bool IsValid(string? topic) =>
        !string.IsNullOrEmpty(topic) && topic.Length <= 249 && topic is not ("." or "..") &&
        topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
