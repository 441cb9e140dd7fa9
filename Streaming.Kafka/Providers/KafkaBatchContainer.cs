using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// The events one read of a partition brought (the partition's stream), in offset order: a consumer gets them
/// in one delivery (a batch observer in one call). Immutable once built, so Orleans passes it to a
/// consumer on the same silo without copying.
/// </summary>
[GenerateSerializer, Immutable, Alias("hearth.kafka.batch")]
public sealed class KafkaBatchContainer : IBatchContainer
{
    [NonSerialized]
    private KafkaSequenceToken? _sequenceToken;

    public KafkaBatchContainer(StreamId streamId, string topic, int partition, long[] offsets, object[] events)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentNullException.ThrowIfNull(events);
        if (offsets.Length == 0 || offsets.Length != events.Length)
        {
            throw new ArgumentException("A batch has at least one event, and one offset per event.", nameof(offsets));
        }

        StreamId = streamId;
        Topic = topic;
        Partition = partition;
        Offsets = offsets;
        Events = events;
    }

    [Id(0)]
    public StreamId StreamId { get; private set; }

    [Id(1)]
    public string Topic { get; private set; }

    [Id(2)]
    public int Partition { get; private set; }

    /// <summary>The offset of each event, ascending.</summary>
    [Id(3)]
    public long[] Offsets { get; private set; }

    [Id(4)]
    public object[] Events { get; private set; }

    /// <summary>The position of the first event.</summary>
    public StreamSequenceToken SequenceToken => _sequenceToken ??= TokenOf(0);

    /// <summary>The position of the last event.</summary>
    public StreamSequenceToken LastToken => TokenOf(Events.Length - 1);

    /// <summary>How many events the batch holds.</summary>
    public int Count => Events.Length;

    /// <summary>The receiver's bookkeeping for this batch on the silo that read it (never serialized).</summary>
    [NonSerialized]
    internal PendingBatch? Pending;

    /// <summary>The batches this one was merged from (see <see cref="Merge"/>), each with its own bookkeeping; null for a batch as read.</summary>
    [NonSerialized]
    private KafkaBatchContainer[]? _parts;

    /// <summary>The batches as read that this one holds, each with its own bookkeeping: itself, or those it was merged from.</summary>
    internal IReadOnlyList<KafkaBatchContainer> AsRead => _parts ?? [this];

    /// <summary>
    /// One batch holding the events of <paramref name="batches"/> (consecutive batches of one stream, in offset
    /// order), so that a consumer that fell behind gets them in one delivery. The parts stay what the receiver
    /// finishes: the merged batch's <see cref="AsRead"/>.
    /// </summary>
    internal static KafkaBatchContainer Merge(IReadOnlyList<KafkaBatchContainer> batches)
    {
        var first = batches[0];
        var count = 0;
        foreach (var batch in batches)
        {
            count += batch.Count;
        }

        var offsets = new long[count];
        var events = new object[count];
        var at = 0;
        foreach (var batch in batches)
        {
            batch.Offsets.CopyTo(offsets, at);
            batch.Events.CopyTo(events, at);
            at += batch.Count;
        }

        return new KafkaBatchContainer(first.StreamId, first.Topic, first.Partition, offsets, events)
        {
            _parts = [.. batches.SelectMany(b => b.AsRead)],
        };
    }

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>()
    {
        for (var i = 0; i < Events.Length; i++)
        {
            if (Events[i] is T item)
            {
                yield return Tuple.Create(item, (StreamSequenceToken)TokenOf(i));
            }
        }
    }

    public bool ImportRequestContext() => false;

    public override string ToString() => $"{StreamId} {Topic}/{Partition}@{Offsets[0]}..{Offsets[^1]} ({Events.Length} events)";

    private KafkaSequenceToken TokenOf(int index) => new(Topic, Partition, Offsets[index]);
}
