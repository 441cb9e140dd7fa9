using Confluent.Kafka;
using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Hosting;
using Microsoft.Extensions.Options;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Silo.Hosting;

/// <summary>
/// Before the silo joins anything: every configured topic must exist. A missing one stops the silo with its
/// configuration key named (the silo never creates topics on a real cluster). Kafka not answering stops it too, with
/// what the client last reported (a refused password, a TLS handshake) and the keys to check.
/// </summary>
internal sealed class KafkaTopicCheck(IOptions<KafkaStreamOptions> kafka, IOptions<TopicsOptions> topics) : IHostedService
{
    /// <summary>The keys that decide whether the silo can talk to Kafka at all, named when it cannot.</summary>
    internal const string ConnectionKeys =
        "Kafka:BootstrapServers and, for a secured cluster, Kafka:Properties:security.protocol, sasl.mechanism, sasl.username, " +
        "sasl.password (or Kafka:PropertyFiles:sasl.password) and ssl.ca.location";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first error the client reports: its reason is why a metadata request then times out.
        Error? clientError = null;
        using var admin = new AdminClientBuilder(Config(kafka.Value))
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, e) => Interlocked.CompareExchange(ref clientError, e, null))
            .Build();
        var missing = new List<string>();
        foreach (var (key, topic) in topics.Value.All.DistinctBy(t => t.Topic))
        {
            Metadata metadata;
            try
            {
                metadata = await Task.Run(() => admin.GetMetadata(topic, kafka.Value.MetadataTimeout), cancellationToken);
            }
            catch (KafkaException e)
            {
                var reason = Volatile.Read(ref clientError) is { } error ? $"; the client reported: {error.Reason}" : "";
                throw new InvalidOperationException(
                    $"Kafka at {kafka.Value.BootstrapServers} did not answer within {kafka.Value.MetadataTimeout} ({e.Error.Reason}){reason}. Check {ConnectionKeys}.", e);
            }

            var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
            if (found is null || found.Error.Code == ErrorCode.UnknownTopicOrPart || found.Partitions.Count == 0)
            {
                missing.Add($"{key} names '{topic}', which does not exist on {kafka.Value.BootstrapServers}");
            }
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", missing) + ". Create the topics first.");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The check's client: the provider's <c>Kafka:Properties</c> (security among them), so it reaches Kafka as the
    /// provider's clients do, and never creates a topic by asking about it.
    /// </summary>
    internal static AdminClientConfig Config(KafkaStreamOptions kafka)
    {
        var config = new AdminClientConfig(kafka.Properties) { BootstrapServers = kafka.BootstrapServers };
        // Asking about a misspelt topic must not create it.
        config.Set("allow.auto.create.topics", "false");
        return config;
    }
}
