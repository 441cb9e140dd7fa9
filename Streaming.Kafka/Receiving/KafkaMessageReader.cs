using Confluent.Kafka;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// Reads messages of one partition back from Kafka by offset. The cache keeps only what a read decoded, not the
/// messages as they were (a few hundred bytes each, for every message a silo holds while it is behind); the rare
/// batch whose delivery failed for good is read back so that the dead-letter topic gets the original message.
/// </summary>
internal sealed class KafkaMessageReader(KafkaClients clients, TopicPartition partition, string queueName, TimeProvider time)
{
    /// <summary>
    /// The messages at <paramref name="offsets"/> (ascending), as far as Kafka still has them and answers within
    /// <paramref name="timeout"/>: an offset missing from the result was deleted (retention, compaction) or could
    /// not be read in time.
    /// </summary>
    public Task<Dictionary<long, ConsumeResult<byte[]?, byte[]?>>> ReadAsync(IReadOnlyList<long> offsets, TimeSpan timeout) =>
        Task.Run(() => Read(offsets, timeout));

    private Dictionary<long, ConsumeResult<byte[]?, byte[]?>> Read(IReadOnlyList<long> offsets, TimeSpan timeout)
    {
        var found = new Dictionary<long, ConsumeResult<byte[]?, byte[]?>>(offsets.Count);
        if (offsets.Count == 0)
        {
            return found;
        }

        var wanted = offsets.ToHashSet();
        var last = offsets[^1];
        // Elapsed time, not the wall clock: a clock step neither cuts the read short nor stretches it.
        var started = time.GetTimestamp();
        using var consumer = clients.CreateReader(queueName);
        consumer.Assign(new TopicPartitionOffset(partition, offsets[0]));
        try
        {
            while (found.Count < wanted.Count)
            {
                var remaining = timeout - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    break;
                }

                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = consumer.Consume(remaining);
                }
                catch (ConsumeException)
                {
                    // Offset out of range or a broker error: what was found stands, the rest is missing.
                    break;
                }

                if (result is null || result.IsPartitionEOF || result.Offset.Value > last)
                {
                    break;
                }

                if (wanted.Contains(result.Offset.Value))
                {
                    found[result.Offset.Value] = result;
                }
            }
        }
        finally
        {
            consumer.Close();
        }

        return found;
    }
}
