using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Hosting;
using Microsoft.Extensions.Options;

namespace Hearth.Silo.EmbeddedKafka;

public static class EmbeddedKafkaHostingExtensions
{
    /// <summary>
    /// When <c>Kafka:BootstrapServers</c> is empty, starts an <see cref="EmbeddedKafkaCluster"/> with the
    /// configured topics (<c>Topics:Partitions</c> partitions each) and points the silo at it, announcing its address
    /// as section <c>EmbeddedKafka</c> says (<see cref="EmbeddedKafkaOptions"/>).
    /// </summary>
    /// <returns>The embedded broker, or null when Kafka is configured.</returns>
    public static EmbeddedKafkaCluster? AddEmbeddedKafkaIfUnconfigured(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        if (!string.IsNullOrWhiteSpace(configuration[KafkaSection.BootstrapServersKey]))
        {
            return null;
        }

        // The topics must be valid before they are created; the same validator runs again at start.
        var topics = configuration.GetSection(TopicsOptions.SectionName).Get<TopicsOptions>() ?? new TopicsOptions();
        var validation = new TopicsOptionsValidator().Validate(null, topics);
        if (validation.Failed)
        {
            throw new OptionsValidationException(TopicsOptions.SectionName, typeof(TopicsOptions), validation.Failures);
        }

        var cluster = new EmbeddedKafkaCluster();
        foreach (var topic in new[] { topics.Readings, topics.Settings, topics.Commands, topics.DeadLetter }.Distinct())
        {
            cluster.CreateTopic(topic, topics.Partitions);
        }

        var settings = new Dictionary<string, string?>
        {
            [KafkaSection.BootstrapServersKey] = cluster.BootstrapServers,
        };
        // The embedded broker answers an empty fetch only when fetch.wait.max.ms (default 500) has passed,
        // even if messages arrive meanwhile; a short wait keeps reading-to-command latency low.
        const string fetchWait = $"{KafkaSection.Name}:{nameof(KafkaStreamOptions.ConsumerProperties)}:fetch.wait.max.ms";
        if (configuration[fetchWait] is null)
        {
            settings[fetchWait] = "10";
        }

        configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(cluster);
        builder.Services.AddOptions<EmbeddedKafkaOptions>().BindConfiguration(EmbeddedKafkaOptions.SectionName);
        // Registered before the grain runtime, so it starts first and stops last.
        builder.Services.AddHostedService<EmbeddedKafkaAnnouncer>();
        return cluster;
    }
}

/// <summary>Tells where the embedded broker is: in the log and, if configured, in <c>EmbeddedKafka:BootstrapFile</c>.</summary>
internal sealed partial class EmbeddedKafkaAnnouncer(
    EmbeddedKafkaCluster cluster, IOptions<EmbeddedKafkaOptions> options, IOptions<TopicsOptions> topics, ILogger<EmbeddedKafkaAnnouncer> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        LogListening(logger, cluster.BootstrapServers, topics.Value.Partitions);
        if (options.Value.BootstrapFile is { Length: > 0 } file)
        {
            // Written whole and renamed, so a script polling for the file never reads half of it.
            var full = Path.GetFullPath(file);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var temporary = full + ".tmp";
            await File.WriteAllTextAsync(temporary, cluster.BootstrapServers + Environment.NewLine, cancellationToken);
            File.Move(temporary, full, overwrite: true);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (options.Value.BootstrapFile is { Length: > 0 } file && File.Exists(file))
        {
            File.Delete(file);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Embedded Kafka (development only, not durable) listening on {BootstrapServers}; topics have {Partitions} partitions")]
    private static partial void LogListening(ILogger logger, string bootstrapServers, int partitions);
}
