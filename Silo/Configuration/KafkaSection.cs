using Hearth.Grains;
using Hearth.Streaming.Kafka.Hosting;

namespace Hearth.Silo.Configuration;

/// <summary>
/// Section <c>Kafka</c>: the Kafka stream provider's own <see cref="KafkaStreamOptions"/>, bound as they are
/// (<c>Kafka:GroupId</c>, <c>Kafka:CommitIntervalMs</c>, <c>Kafka:Properties:security.protocol</c>...) and checked by
/// the provider's validator with the section as key prefix, so that every message names the key an operator sets.
/// An empty <c>Kafka:BootstrapServers</c> means the embedded development broker, whose address the silo puts there
/// before it reads the section.
/// </summary>
/// <remarks>
/// The options in <see cref="SetBySilo"/> are not settings of this section: the silo sets them after binding, from
/// the sections named there, and refuses a key under <c>Kafka:</c> that names one of them (the topics a silo reads
/// are those of the <c>Topics</c> section, which it checks exist, creates on the embedded broker and shows).
/// </remarks>
public static class KafkaSection
{
    public const string Name = "Kafka";

    /// <summary>The key whose empty value means the embedded broker.</summary>
    public const string BootstrapServersKey = $"{Name}:{nameof(KafkaStreamOptions.BootstrapServers)}";

    /// <summary>The options the silo sets itself, each with what it sets it from.</summary>
    public static IReadOnlyDictionary<string, string> SetBySilo { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [nameof(KafkaStreamOptions.Topics)] = "Topics:Readings and Topics:Settings",
        [nameof(KafkaStreamOptions.NamespaceTopics)] = "Topics:Readings, Topics:Settings and Topics:Commands",
        [nameof(KafkaStreamOptions.DeadLetterTopic)] = "Topics:DeadLetter",
        [nameof(KafkaStreamOptions.ClientId)] = "Silo:Name",
        [nameof(KafkaStreamOptions.LogIncarnation)] = "the embedded broker (empty for a Kafka cluster)",
    };

    private const string SecurityProtocol = "security.protocol";

    /// <summary>Keys that were once in this section, and where they are now.</summary>
    private static readonly Dictionary<string, string> Moved = new(StringComparer.Ordinal)
    {
        ["EmbeddedBootstrapFile"] = "EmbeddedKafka:BootstrapFile",
    };

    /// <summary>
    /// Files of librdkafka properties: <c>Kafka:PropertyFiles:&lt;name&gt;</c> is a file (a mounted Secret) whose content,
    /// without its trailing line break, is the property <c>&lt;name&gt;</c> of every client, as if set as
    /// <c>Kafka:Properties:&lt;name&gt;</c>. For secrets (<c>sasl.password</c>) where an environment variable will not do:
    /// a shell cannot export a name with a dot, and a file can be rotated by the platform without the pod's spec.
    /// </summary>
    public const string PropertyFiles = "PropertyFiles";

    /// <summary>
    /// The section's values as they are now, apart from <paramref name="configuration"/>: what is bound later (the
    /// provider's own options, when the silo starts) is what was checked, even if a configuration file changes. Each
    /// file of <see cref="PropertyFiles"/> is read now, into <c>Kafka:Properties</c>; one that cannot be read, or a
    /// property set both ways, is a failure naming the key.
    /// </summary>
    public static IConfigurationSection Snapshot(IConfiguration configuration, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(failures);
        var section = configuration.GetSection(Name);
        var values = section.AsEnumerable()
            .Where(v => !v.Key.StartsWith($"{Name}:{PropertyFiles}:", StringComparison.Ordinal))
            .ToDictionary(v => v.Key, v => v.Value, StringComparer.OrdinalIgnoreCase);
        foreach (var file in section.GetSection(PropertyFiles).GetChildren().Where(f => f.Value is not null))
        {
            var key = $"{Name}:{nameof(KafkaStreamOptions.Properties)}:{file.Key}";
            var value = Secrets.Read(key, values.GetValueOrDefault(key), file.Path, file.Value, failures);
            if (value is not null)
            {
                values[key] = value;
            }
        }

        return new ConfigurationBuilder()
            .AddInMemoryCollection(values)
            .Build()
            .GetSection(Name);
    }

    /// <summary>
    /// Binds <paramref name="section"/> onto <paramref name="options"/>, then sets the options of <see cref="SetBySilo"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">A value could not be converted; the message names the key.</exception>
    public static void Bind(IConfigurationSection section, KafkaStreamOptions options, TopicsOptions topics, SiloOptions silo, string logIncarnation)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(silo);
        section.Bind(options);
        options.Topics = [.. topics.InputTopics];
        options.DeadLetterTopic = topics.DeadLetter;
        // Readings and settings sharing a topic are all on the readings streams.
        options.NamespaceTopics = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ThermostatStreams.Readings] = topics.Readings,
            [ThermostatStreams.Commands] = topics.Commands,
        };
        if (!string.Equals(topics.Settings, topics.Readings, StringComparison.Ordinal))
        {
            options.NamespaceTopics[ThermostatStreams.Settings] = topics.Settings;
        }

        options.ClientId = silo.Name;
        options.LogIncarnation = logIncarnation;
    }

    /// <summary>What is wrong with <paramref name="section"/> and the <paramref name="options"/> bound from it, naming the keys.</summary>
    public static IReadOnlyList<string> Validate(IConfigurationSection section, KafkaStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(section);
        var failures = new List<string>();
        foreach (var (option, source) in SetBySilo.Where(o => section.GetSection(o.Key).Exists()))
        {
            failures.Add($"{Name}:{option} cannot be set: the silo sets it from {source}.");
        }

        foreach (var (key, home) in Moved.Where(m => section.GetSection(m.Key).Exists()))
        {
            failures.Add($"{Name}:{key} has moved to {home}.");
        }

        // librdkafka's mock cluster has a plain TCP listener and no SASL handlers: a secured client would only time out.
        if (options.LogIncarnation.Length > 0 &&
            options.Properties.TryGetValue(SecurityProtocol, out var protocol) &&
            !string.Equals(protocol, "plaintext", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"{Name}:{nameof(KafkaStreamOptions.Properties)}:{SecurityProtocol} is '{protocol}', but {BootstrapServersKey} is empty: " +
                "the embedded development broker speaks plain TCP only (no TLS, no SASL). Set Kafka:BootstrapServers to your Kafka cluster.");
        }

        // The options the silo sets come from sections checked on their own: their failures name those keys.
        failures.AddRange(KafkaStreamOptionsValidator.Validate(options, keyPrefix: $"{Name}:", setByHost: SetBySilo.Keys));
        return failures;
    }
}
