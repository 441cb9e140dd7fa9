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

    /// <summary>What is wrong with <paramref name="options"/>, one sentence per problem, each naming its option.</summary>
    /// <param name="keyPrefix">
    /// Put before every option's name. A host that binds the options from a configuration section passes the section
    /// (<c>"Kafka:"</c>), so that the messages name the keys an operator sets (<c>Kafka:GroupId is required.</c>);
    /// options configured in code leave it empty (<c>GroupId is required.</c>).
    /// </param>
    /// <param name="setByHost">
    /// Options (by property name) the host sets itself, after binding, from values it has checked where they come
    /// from (another section, say): not checked here, so that a bad value is reported once, under the key it was
    /// given. The silo's <see cref="IConfigurationValidator"/> still checks every option when it starts.
    /// </param>
    public static IReadOnlyList<string> Validate(KafkaStreamOptions options, string keyPrefix = "", IEnumerable<string>? setByHost = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        var skipped = new HashSet<string>(setByHost ?? [], StringComparer.Ordinal);
        var failures = new List<string>();
        string Key(string option) => keyPrefix + option;
        bool Checked(string option) => !skipped.Contains(option);

        if (string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            failures.Add($"{Key(nameof(options.BootstrapServers))} is required.");
        }
        else
        {
            foreach (var server in options.BootstrapServers.Split(',', StringSplitOptions.TrimEntries))
            {
                var colon = server.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
                {
                    failures.Add($"{Key(nameof(options.BootstrapServers))} must be host:port[,host:port...]; '{server}' is not.");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(options.GroupId))
        {
            failures.Add($"{Key(nameof(options.GroupId))} is required.");
        }

        if (Checked(nameof(options.Topics)))
        {
            if (options.Topics.Count == 0)
            {
                failures.Add($"{Key(nameof(options.Topics))} must name at least one topic to read.");
            }

            foreach (var topic in options.Topics.Where(t => !KafkaTopicNames.IsValid(t)))
            {
                failures.Add($"{Key(nameof(options.Topics))} contains '{topic}', which is not a valid Kafka topic name.");
            }

            if (options.Topics.Distinct(StringComparer.Ordinal).Count() != options.Topics.Count)
            {
                failures.Add($"{Key(nameof(options.Topics))} names a topic twice.");
            }
        }

        if (Checked(nameof(options.DeadLetterTopic)))
        {
            if (!KafkaTopicNames.IsValid(options.DeadLetterTopic))
            {
                failures.Add($"{Key(nameof(options.DeadLetterTopic))} must be a valid Kafka topic name; it is '{options.DeadLetterTopic}'.");
            }
            else if (options.Topics.Contains(options.DeadLetterTopic, StringComparer.Ordinal))
            {
                failures.Add($"{Key(nameof(options.DeadLetterTopic))} must not be one of the topics read.");
            }
        }

        if (Checked(nameof(options.NamespaceTopics)))
        {
            foreach (var (ns, topic) in options.NamespaceTopics.Where(e => !KafkaTopicNames.IsValid(e.Value)))
            {
                failures.Add($"{Key(nameof(options.NamespaceTopics))} maps '{ns}' to '{topic}', which is not a valid Kafka topic name.");
            }
        }

        Range(failures, Key(nameof(options.MaxBatchSize)), options.MaxBatchSize, 1, 100_000);
        Range(failures, Key(nameof(options.CacheSize)), options.CacheSize, 1, 10_000_000);
        Range(failures, Key(nameof(options.SiloCacheSize)), options.SiloCacheSize, 1, 100_000_000);
        Range(failures, Key(nameof(options.CommitIntervalMs)), options.CommitIntervalMs, 10, 3_600_000);
        Range(failures, Key(nameof(options.QueuedMinMessages)), options.QueuedMinMessages, 1, 10_000_000);
        Range(failures, Key(nameof(options.QueuedMaxMessagesKbytes)), options.QueuedMaxMessagesKbytes, 1, 2_097_151);
        Range(failures, Key(nameof(options.LingerMs)), options.LingerMs, 0, 900_000);
        if (options.MetadataTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Key(nameof(options.MetadataTimeout))} must be positive; it is {options.MetadataTimeout}.");
        }

        if (options.TopicRefreshInterval < TimeSpan.FromSeconds(1) || options.TopicRefreshInterval > TimeSpan.FromHours(1))
        {
            failures.Add($"{Key(nameof(options.TopicRefreshInterval))} must be between 00:00:01 and 01:00:00; it is {options.TopicRefreshInterval}.");
        }

        return failures;
    }

    private static void Range(List<string> failures, string key, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{key} must be between {min} and {max}; it is {value}.");
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
