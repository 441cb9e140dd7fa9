using Confluent.Kafka;
using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Hosting;
using Microsoft.Extensions.Options;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Silo.Hosting;

/// <summary>
/// Before the silo joins anything: every configured topic must exist. A missing one stops the silo with its
/// configuration key named (the silo never creates topics on a real cluster).
/// </summary>
internal sealed class KafkaTopicCheck(IOptions<KafkaStreamOptions> kafka, IOptions<TopicsOptions> topics) : IHostedService
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var config = new AdminClientConfig(kafka.Value.Properties) { BootstrapServers = kafka.Value.BootstrapServers };
        // Asking about a misspelt topic must not create it.
        config.Set("allow.auto.create.topics", "false");
        using var admin = new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build();
        var missing = new List<string>();
        foreach (var (key, topic) in topics.Value.All.DistinctBy(t => t.Topic))
        {
            var metadata = await Task.Run(() => admin.GetMetadata(topic, Timeout), cancellationToken);
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
}
