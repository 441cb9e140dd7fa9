using System.Globalization;
using Hearth.Silo.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Infrastructure;

/// <summary>The configuration every test silo shares: a test's topics and group on the embedded broker.</summary>
public static class TestSettings
{
    /// <summary>Kafka and topics, with commits every 100 ms and short empty fetches.</summary>
    public static Dictionary<string, string?> Kafka(string bootstrapServers, TestTopics topics) => new(StringComparer.Ordinal)
    {
        ["Kafka:BootstrapServers"] = bootstrapServers,
        ["Kafka:GroupId"] = topics.GroupId,
        ["Kafka:CommitIntervalMs"] = "100",
        // The embedded broker answers an empty fetch only after fetch.wait.max.ms, even when data arrives meanwhile.
        ["Kafka:ConsumerProperties:fetch.wait.max.ms"] = "10",
        ["Topics:Readings"] = topics.Readings,
        ["Topics:Settings"] = topics.Settings,
        ["Topics:Commands"] = topics.Commands,
        ["Topics:DeadLetter"] = topics.DeadLetter,
        ["Topics:Partitions"] = topics.Partitions.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary><paramref name="settings"/> with <paramref name="more"/> on top.</summary>
    public static Dictionary<string, string?> With(this Dictionary<string, string?> settings, IEnumerable<KeyValuePair<string, string?>>? more)
    {
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// Reads <paramref name="values"/> as the silo reads its configuration, towards a Kafka cluster at
    /// <paramref name="bootstrapServers"/> unless they name one.
    /// </summary>
    /// <exception cref="OptionsValidationException">Some values are invalid.</exception>
    public static SiloSettings Read(Dictionary<string, string?> values, string bootstrapServers = "kafka:9092", string kafkaLogIncarnation = "")
    {
        ArgumentNullException.ThrowIfNull(values);
        values.TryAdd("Kafka:BootstrapServers", bootstrapServers);
        return SiloSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), kafkaLogIncarnation);
    }
}
