using System.Globalization;
using Confluent.Kafka;
using Hearth.Testing;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// The checkpoints of a consumer group: the offsets the silos committed, which pass only messages whose
/// delivery completed (and whose decisions are stored). What tests wait for before they look at results.
/// </summary>
public sealed class KafkaCheckpoints(string bootstrapServers, string groupId) : IStoresInput
{
    /// <summary>The committed offset of every partition in <paramref name="partitions"/> (-1001, <see cref="Offset.Unset"/>, where none is).</summary>
    public Dictionary<TopicPartition, long> Committed(IEnumerable<TopicPartition> partitions)
    {
        using var consumer = Consumer();
        return consumer.Committed(partitions, TimeSpan.FromSeconds(10)).ToDictionary(c => c.TopicPartition, c => c.Offset.Value);
    }

    /// <summary>Commits <paramref name="offsets"/> (the next offset to read per partition) as the group's, as another client of the group would.</summary>
    public void Commit(IEnumerable<KeyValuePair<TopicPartition, long>> offsets)
    {
        using var consumer = Consumer();
        consumer.Commit(offsets.Select(o => new TopicPartitionOffset(o.Key, o.Value)));
    }

    /// <summary>Waits until every partition of <paramref name="ends"/> has its committed offset at its end.</summary>
    public async Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase)
    {
        var wanted = ends.Where(e => e.Value > 0).ToDictionary();
        Dictionary<TopicPartition, long> committed = [];
        await Poll.UntilAsync(
            () =>
            {
                committed = Committed(wanted.Keys);
                return Task.FromResult(wanted.All(e => committed.GetValueOrDefault(e.Key, -1) >= e.Value));
            },
            timeout,
            $"{phase}: checkpoints reaching the input's end",
            () => Task.FromResult(string.Join("; ", wanted.Where(e => committed.GetValueOrDefault(e.Key, -1) < e.Value)
                .Select(e => $"{e.Key.Topic}[{e.Key.Partition.Value}] wants {e.Value}, committed {committed.GetValueOrDefault(e.Key, -1).ToString(CultureInfo.InvariantCulture)}"))));
    }

    private IConsumer<byte[], byte[]> Consumer() =>
        new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = groupId,
            EnableAutoCommit = false,
        }).SetLogHandler((_, _) => { }).Build();
}
