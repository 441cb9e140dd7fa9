using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// One Orleans queue per partition of every input topic. Queue <c>{topic}-{partition}</c> sits at an evenly
/// spaced point of the consistent ring, partitions interleaved across topics, so Orleans' ring-based queue
/// balancer spreads every topic's partitions over the silos and partition <c>p</c> of co-partitioned topics
/// tends to land on the same silo.
/// </summary>
public sealed class KafkaQueueMapper : IConsistentRingStreamQueueMapper
{
    private readonly QueueId[] _queues;
    private readonly Dictionary<QueueId, (string Topic, int Partition)> _partitions = [];
    private readonly Dictionary<(string Topic, int Partition), QueueId> _queuesByPartition = [];
    private readonly Func<string, string> _topicOf;

    /// <param name="topics">Each input topic with its partition count.</param>
    /// <param name="topicOf">The topic of a stream namespace.</param>
    public KafkaQueueMapper(IReadOnlyList<(string Topic, int Partitions)> topics, Func<string, string> topicOf)
    {
        ArgumentNullException.ThrowIfNull(topicOf);
        _topicOf = topicOf;
        ArgumentNullException.ThrowIfNull(topics);
        if (topics.Count == 0 || topics.Any(t => t.Partitions <= 0))
        {
            throw new ArgumentException("At least one topic, each with at least one partition.", nameof(topics));
        }

        var layout = new List<(string Topic, int Partition)>();
        for (var partition = 0; partition < topics.Max(t => t.Partitions); partition++)
        {
            layout.AddRange(topics.Where(t => partition < t.Partitions).Select(t => (t.Topic, partition)));
        }

        _queues = new QueueId[layout.Count];
        var spacing = (1UL << 32) / (ulong)layout.Count;
        for (var i = 0; i < layout.Count; i++)
        {
            var (topic, partition) = layout[i];
            var queue = QueueId.GetQueueId(topic, (uint)partition, (uint)((ulong)i * spacing));
            _queues[i] = queue;
            _partitions.Add(queue, (topic, partition));
            _queuesByPartition.Add((topic, partition), queue);
        }
    }

    public IEnumerable<QueueId> GetAllQueues() => _queues;

    public IEnumerable<QueueId> GetQueuesForRange(IRingRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        return _queues.Where(q => range.InRange(q.GetUniformHashCode()));
    }

    /// <summary>
    /// The queue of a partition's stream (see <see cref="Hosting.KafkaStreamOptions.StreamOf"/>). Any other stream
    /// (one only published to) gets a queue chosen from its key, a stable answer for Orleans' bookkeeping.
    /// </summary>
    public QueueId GetQueueForStream(StreamId streamId)
    {
        var topic = _topicOf(streamId.GetNamespace() ?? "");
        if (int.TryParse(streamId.Key.Span, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var partition) &&
            _queuesByPartition.TryGetValue((topic, partition), out var queue))
        {
            return queue;
        }

        return _queues[KafkaPartitioner.Partition(streamId.Key.Span, _queues.Length)];
    }

    /// <summary>The topic and partition a queue pulls.</summary>
    public (string Topic, int Partition) PartitionOf(QueueId queue) =>
        _partitions.TryGetValue(queue, out var partition)
            ? partition
            : throw new ArgumentException($"Queue {queue} is not a queue of this provider.", nameof(queue));
}
