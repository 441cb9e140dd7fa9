using Confluent.Kafka;

namespace Hearth.Tests.Infrastructure;

/// <summary>Reads whole topics, up to their current end, outside any consumer group.</summary>
public static class TopicReader
{
    /// <summary>
    /// Every message of <paramref name="topic"/> from the beginning up to its end as of this call,
    /// in partition order (partition by partition).
    /// </summary>
    public static IReadOnlyList<ConsumeResult<string?, byte[]?>> ReadAll(string bootstrapServers, string topic, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = false,
        }).SetLogHandler((_, _) => { }).Build();
        var ends = EndOffsets(consumer, topic, timeout);
        var wanted = ends.Where(e => e.Value > 0).ToDictionary();
        consumer.Assign(wanted.Keys.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var results = new List<ConsumeResult<string?, byte[]?>>();
        var remaining = wanted.Count;
        var deadline = DateTime.UtcNow + timeout;
        while (remaining > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"Reading {topic}: got {results.Count} messages, expected offsets up to {string.Join(", ", wanted.Select(w => $"{w.Key.Partition}:{w.Value}"))}");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is null)
            {
                continue;
            }

            results.Add(result);
            if (result.Offset.Value + 1 >= wanted[result.TopicPartition])
            {
                consumer.IncrementalUnassign([result.TopicPartition]);
                remaining--;
            }
        }

        return results.OrderBy(r => r.Partition.Value).ThenBy(r => r.Offset.Value).ToList();
    }

    /// <summary>The end (high watermark) of every partition of <paramref name="topic"/>.</summary>
    public static Dictionary<TopicPartition, long> EndOffsets(IConsumer<string?, byte[]?> consumer, string topic, TimeSpan timeout)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var metadata = admin.GetMetadata(topic, timeout).Topics.Single();
        return metadata.Partitions
            .Select(p => new TopicPartition(topic, p.PartitionId))
            .ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(p, timeout).High.Value);
    }

    /// <summary>The end of every partition of <paramref name="topic"/>.</summary>
    public static Dictionary<TopicPartition, long> EndOffsets(string bootstrapServers, string topic, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
        }).SetLogHandler((_, _) => { }).Build();
        return EndOffsets(consumer, topic, timeout);
    }
}
