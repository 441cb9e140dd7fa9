using Microsoft.Extensions.Options;

namespace Hearth.Runtime.Configuration;

/// <summary>Validates <see cref="KafkaOptions"/>; messages name the configuration key.</summary>
public sealed class KafkaOptionsValidator : IValidateOptions<KafkaOptions>
{
    public ValidateOptionsResult Validate(string? name, KafkaOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.GroupId))
        {
            failures.Add("Kafka:GroupId is required.");
        }

        if (!string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            foreach (var server in options.BootstrapServers.Split(',', StringSplitOptions.TrimEntries))
            {
                var colon = server.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
                {
                    failures.Add($"Kafka:BootstrapServers must be host:port[,host:port...]; '{server}' is not.");
                }
            }
        }

        OptionChecks.Range(failures, "Kafka:QueuedMinMessages", options.QueuedMinMessages, 1, 10_000_000);
        OptionChecks.Range(failures, "Kafka:QueuedMaxMessagesKbytes", options.QueuedMaxMessagesKbytes, 1, 2_097_151);
        OptionChecks.Range(failures, "Kafka:SessionTimeoutMs", options.SessionTimeoutMs, 1_000, 3_600_000);
        OptionChecks.Range(failures, "Kafka:LingerMs", options.LingerMs, 0, 900_000);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Validates <see cref="TopicsOptions"/>.</summary>
public sealed class TopicsOptionsValidator : IValidateOptions<TopicsOptions>
{
    public ValidateOptionsResult Validate(string? name, TopicsOptions options)
    {
        var failures = new List<string>();
        Topic(failures, "Topics:Readings", options.Readings);
        Topic(failures, "Topics:Settings", options.Settings);
        Topic(failures, "Topics:Commands", options.Commands);
        Topic(failures, "Topics:DeadLetter", options.DeadLetter);
        OptionChecks.Range(failures, "Topics:Partitions", options.Partitions, 1, 10_000);

        var inputs = options.InputTopics;
        if (inputs.Contains(options.Commands, StringComparer.Ordinal))
        {
            failures.Add($"Topics:Commands must differ from the input topics; it is '{options.Commands}'.");
        }

        if (inputs.Contains(options.DeadLetter, StringComparer.Ordinal))
        {
            failures.Add($"Topics:DeadLetter must differ from the input topics; it is '{options.DeadLetter}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Topic(List<string> failures, string key, string? topic)
    {
        // Kafka's own rule: 1..249 characters of [a-zA-Z0-9._-].
        if (string.IsNullOrWhiteSpace(topic))
        {
            failures.Add($"{key} is required.");
        }
        else if (topic.Length > 249 || topic is "." or ".." ||
                 !topic.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            failures.Add($"{key} '{topic}' is not a valid Kafka topic name (1-249 of a-z A-Z 0-9 . _ -).");
        }
    }
}

/// <summary>Validates <see cref="GrainsOptions"/>.</summary>
public sealed class GrainsOptionsValidator : IValidateOptions<GrainsOptions>
{
    public ValidateOptionsResult Validate(string? name, GrainsOptions options)
    {
        var failures = new List<string>();
        OptionChecks.Range(failures, "Grains:CheckpointInterval", options.CheckpointInterval,
            TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10));
        OptionChecks.Range(failures, "Grains:IdleTimeout", options.IdleTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        OptionChecks.Range(failures, "Grains:PauseAfter", options.PauseAfter, TimeSpan.Zero, TimeSpan.FromSeconds(30));
        OptionChecks.Range(failures, "Grains:MaxQueuedMessagesPerPartition",
            options.MaxQueuedMessagesPerPartition, 10, 1_000_000);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Validates <see cref="StorageOptions"/>.</summary>
public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        var provider = options.Provider?.ToLowerInvariant();
        if (provider is not (StorageOptions.Sqlite or StorageOptions.Postgres))
        {
            failures.Add($"Storage:Provider must be '{StorageOptions.Sqlite}' or '{StorageOptions.Postgres}'; it is '{options.Provider}'.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("Storage:ConnectionString is required.");
        }
        else
        {
            try
            {
                // Parse now, so that a malformed connection string fails at start with the key named.
                _ = provider == StorageOptions.Postgres
                    ? new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString).Host
                    : new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(options.ConnectionString).DataSource;
            }
            catch (ArgumentException e)
            {
                failures.Add($"Storage:ConnectionString is not a valid {provider} connection string: {e.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Validates <see cref="SiloOptions"/>.</summary>
public sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Name) || options.Name.Length > 200)
        {
            failures.Add("Silo:Name is required (at most 200 characters).");
        }

        OptionChecks.HttpUrl(failures, "Silo:HttpAddress", options.HttpAddress);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
