using System.Net;
using Hearth.Streaming.Kafka.Hosting;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.Configuration;

/// <summary>Validates <see cref="TopicsOptions"/>.</summary>
public sealed class TopicsOptionsValidator : IValidateOptions<TopicsOptions>
{
    public ValidateOptionsResult Validate(string? name, TopicsOptions options)
    {
        var failures = new List<string>();
        foreach (var (key, topic) in options.All)
        {
            if (string.IsNullOrWhiteSpace(topic))
            {
                failures.Add($"{key} is required.");
            }
            else if (!KafkaTopicNames.IsValid(topic))
            {
                failures.Add($"{key} '{topic}' is not a valid Kafka topic name (1-249 of a-z A-Z 0-9 . _ -).");
            }
        }

        OptionChecks.Range(failures, "Topics:Partitions", options.Partitions, 1, 10_000);
        var inputs = options.InputTopics;
        if (inputs.Contains(options.Commands, StringComparer.Ordinal))
        {
            failures.Add($"Topics:Commands must differ from the input topics; it is '{options.Commands}'.");
        }

        if (inputs.Contains(options.DeadLetter, StringComparer.Ordinal) || options.DeadLetter == options.Commands)
        {
            failures.Add($"Topics:DeadLetter must differ from the input and command topics; it is '{options.DeadLetter}'.");
        }

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

        Npgsql.NpgsqlConnectionStringBuilder? postgres = null;
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("Storage:ConnectionString is required.");
        }
        else
        {
            try
            {
                // Parse now, so that a malformed connection string fails at start with the key named.
                if (provider == StorageOptions.Postgres)
                {
                    postgres = new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString);
                }
                else
                {
                    _ = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(options.ConnectionString).DataSource;
                }
            }
            catch (ArgumentException e)
            {
                failures.Add($"Storage:ConnectionString is not a valid {provider} connection string: {e.Message}");
            }
        }

        if (options.Password is not null || options.PasswordFile is not null)
        {
            if (provider != StorageOptions.Postgres)
            {
                failures.Add($"Storage:Password and Storage:PasswordFile are for PostgreSQL; Storage:Provider is '{options.Provider}'.");
            }
            else if (postgres?.Password is not null)
            {
                failures.Add("Storage:ConnectionString has a password and Storage:Password or Storage:PasswordFile is set too; set one.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Validates <see cref="OrleansOptions"/>.</summary>
public sealed class OrleansOptionsValidator : IValidateOptions<OrleansOptions>
{
    public ValidateOptionsResult Validate(string? name, OrleansOptions options)
    {
        var failures = new List<string>();
        OptionChecks.Range(failures, "Orleans:SiloPort", options.SiloPort, 0, 65535);
        OptionChecks.Range(failures, "Orleans:GatewayPort", options.GatewayPort, 0, 65535);
        if (options.SiloPort != 0 && options.SiloPort == options.GatewayPort)
        {
            failures.Add($"Orleans:SiloPort and Orleans:GatewayPort must differ; both are {options.SiloPort}.");
        }

        Identifier(failures, "Orleans:ClusterId", options.ClusterId);
        Identifier(failures, "Orleans:ServiceId", options.ServiceId);
        if (options.AdvertisedAddress is { } address && !IPAddress.TryParse(address, out _))
        {
            failures.Add($"Orleans:AdvertisedAddress must be an IP address; it is '{address}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Identifier(List<string> failures, string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 150 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            failures.Add($"{key} must be 1-150 of a-z A-Z 0-9 - _ .; it is '{value}'.");
        }
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
