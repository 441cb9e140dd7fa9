using System.Globalization;
using System.Text;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// One Orleans queue per partition of every input topic: queue <c>{topic}-{partition}</c>, whose place on the
/// consistent ring (<see cref="QueueHash"/>) depends on the topic and the partition alone. Every silo therefore
/// names a partition's queue alike whatever partition count it has seen, and partitions added to a live topic
/// (<see cref="Grow"/>) are new queues that leave the others as they were.
/// </summary>
/// <remarks>
/// Safe to use from any thread: <see cref="Grow"/> publishes a new set of queues at once, and readers see either
/// the old one or the new one. Queues are never removed, as Kafka never takes partitions away from a topic.
/// </remarks>
public sealed class KafkaQueueMapper : IConsistentRingStreamQueueMapper
{
    private readonly Func<string, string> _topicOf;
    private readonly Lock _lock = new();
    private volatile Layout _layout = Layout.Empty;

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

        Grow(topics);
    }

    /// <summary>
    /// Raised, on the thread that called <see cref="Grow"/>, once queues were added: a queue balancer recomputes
    /// which silo pulls which (Orleans' pulling manager asks only the balancer, never the mapper again).
    /// </summary>
    public event EventHandler? QueuesAdded;

    /// <summary>The input topics with the partition counts known now, in the order they were first given.</summary>
    public IReadOnlyList<(string Topic, int Partitions)> Topics => _layout.Topics;

    /// <summary>
    /// Adds a queue for every partition of <paramref name="topics"/> that has none yet (a topic that grew, or one not
    /// seen before), and raises <see cref="QueuesAdded"/> if there was any. A topic given with fewer partitions than
    /// known keeps its queues.
    /// </summary>
    /// <returns>The queues added, none when nothing grew.</returns>
    public IReadOnlyList<QueueId> Grow(IReadOnlyList<(string Topic, int Partitions)> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        List<QueueId> added;
        lock (_lock)
        {
            var old = _layout;
            var counts = old.Topics.ToList();
            foreach (var (topic, partitions) in topics)
            {
                var at = counts.FindIndex(t => string.Equals(t.Topic, topic, StringComparison.Ordinal));
                if (at < 0)
                {
                    counts.Add((topic, partitions));
                }
                else if (partitions > counts[at].Partitions)
                {
                    counts[at] = (topic, partitions);
                }
            }

            var layout = new Layout(counts);
            added = [.. layout.Queues.Where(q => !old.Partitions.ContainsKey(q))];
            if (added.Count == 0)
            {
                return [];
            }

            _layout = layout;
        }

        QueuesAdded?.Invoke(this, EventArgs.Empty);
        return added;
    }

    public IEnumerable<QueueId> GetAllQueues() => _layout.Queues;

    public IEnumerable<QueueId> GetQueuesForRange(IRingRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        return _layout.Queues.Where(q => range.InRange(q.GetUniformHashCode()));
    }

    /// <summary>
    /// The queue of a partition's stream (see <see cref="Hosting.KafkaStreamOptions.StreamOf"/>). Any other stream
    /// (one only published to) gets a queue chosen from its key among the queues known now; Orleans' pulling agents
    /// never ask for one (they read the queues they are given).
    /// </summary>
    public QueueId GetQueueForStream(StreamId streamId)
    {
        var layout = _layout;
        var topic = _topicOf(streamId.GetNamespace() ?? "");
        if (int.TryParse(streamId.Key.Span, NumberStyles.None, CultureInfo.InvariantCulture, out var partition) &&
            layout.ByPartition.TryGetValue((topic, partition), out var queue))
        {
            return queue;
        }

        return layout.Queues[KafkaPartitioner.Partition(streamId.Key.Span, layout.Queues.Length)];
    }

    /// <summary>The topic and partition a queue pulls.</summary>
    public (string Topic, int Partition) PartitionOf(QueueId queue) =>
        _layout.Partitions.TryGetValue(queue, out var partition)
            ? partition
            : throw new ArgumentException($"Queue {queue} is not a queue of this provider.", nameof(queue));

    /// <summary>The queue of partition <paramref name="partition"/> of <paramref name="topic"/>, the same on every silo.</summary>
    public static QueueId QueueOf(string topic, int partition)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        return QueueId.GetQueueId(topic, (uint)partition, QueueHash(topic, partition));
    }

    /// <summary>
    /// A queue's place on Orleans' ring, from the topic's name and the partition alone: Kafka's murmur2 of the name with
    /// the partition mixed in, then murmur3's 32-bit finaliser, so that neighbouring partitions land far apart.
    /// </summary>
    /// <remarks>
    /// Two partitions of one topic never share a hash (each step maps the partition one-to-one); partitions of two
    /// topics may, one pair in 2^32, which only makes a tie that the balancers break by the queues' names.
    /// </remarks>
    public static uint QueueHash(string topic, int partition)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var h = (uint)KafkaPartitioner.Murmur2(Encoding.UTF8.GetBytes(topic));
        h ^= unchecked((uint)partition * 0x9E3779B9u);
        h ^= h >> 16;
        h *= 0x85EBCA6Bu;
        h ^= h >> 13;
        h *= 0xC2B2AE35u;
        h ^= h >> 16;
        return h;
    }

    /// <summary>The queues of a set of topics: read together, replaced together.</summary>
    private sealed class Layout
    {
        public static readonly Layout Empty = new([]);

        public Layout(List<(string Topic, int Partitions)> topics)
        {
            Topics = topics;
            // Partition p of every topic, then p + 1: a listing that reads like the topics do.
            var queues = new List<QueueId>();
            for (var partition = 0; partition < (topics.Count == 0 ? 0 : topics.Max(t => t.Partitions)); partition++)
            {
                foreach (var (topic, _) in topics.Where(t => partition < t.Partitions))
                {
                    var queue = QueueOf(topic, partition);
                    queues.Add(queue);
                    Partitions.Add(queue, (topic, partition));
                    ByPartition.Add((topic, partition), queue);
                }
            }

            Queues = [.. queues];
        }

        public IReadOnlyList<(string Topic, int Partitions)> Topics { get; }

        public QueueId[] Queues { get; }

        public Dictionary<QueueId, (string Topic, int Partition)> Partitions { get; } = [];

        public Dictionary<(string Topic, int Partition), QueueId> ByPartition { get; } = [];
    }
}
