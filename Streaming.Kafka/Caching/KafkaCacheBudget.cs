namespace Hearth.Streaming.Kafka.Caching;

/// <summary>
/// The events the queue caches of one silo may hold together (<c>SiloCacheSize</c>), so that what a silo keeps
/// in memory while it is behind does not grow with the number of partitions it pulls.
/// </summary>
/// <remarks>
/// A cache is over budget once the silo's caches together hold the budget and it holds at least its share (the
/// budget over the caches): a partition that holds little keeps reading while the full ones wait, so none is
/// starved by the others. A cache checks before a read, so the caches may pass the budget by one read each.
/// Caches run on their own pulling agents; the counts are updated atomically.
/// </remarks>
internal sealed class KafkaCacheBudget(long capacity)
{
    private long _events;
    private int _caches;

    /// <summary>The events the silo's caches may hold together.</summary>
    public long Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A cache budget holds at least one event.");

    /// <summary>Events held by the caches now.</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>Caches sharing the budget now.</summary>
    public int Caches => Volatile.Read(ref _caches);

    public void Join() => Interlocked.Increment(ref _caches);

    /// <summary>A cache leaves, giving back the <paramref name="held"/> events it still counted.</summary>
    public void Leave(long held)
    {
        Interlocked.Decrement(ref _caches);
        Interlocked.Add(ref _events, -held);
    }

    /// <summary>Counts <paramref name="events"/> more (fewer, if negative) events held.</summary>
    public void Add(long events) => Interlocked.Add(ref _events, events);

    /// <summary>Whether a cache holding <paramref name="held"/> events must stop reading for the silo's sake.</summary>
    public bool IsExceededBy(long held) => Events >= Capacity && held >= Capacity / Math.Max(1, Caches);
}
