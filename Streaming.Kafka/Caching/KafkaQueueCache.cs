using System.Diagnostics.CodeAnalysis;
using Hearth.Streaming.Kafka.Providers;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Caching;

/// <summary>
/// The cache of one queue (partition), indexed by stream: each stream's batches sit in a log of their own,
/// so a consumer's cursor walks only its stream's batches, never the whole queue.
/// </summary>
/// <remarks>
/// <para>The purge rule: a batch leaves the cache, and so becomes eligible for the checkpoint, only when
/// every cursor of its stream has moved past it. A cursor stays on a batch while it is being delivered
/// and moves past it only after the delivery completed (or failed for good, see
/// <see cref="IQueueCacheCursor.RecordDeliveryFailure"/>), so the checkpoint never passes an undelivered
/// message. Batches of a stream that has no cursor at all (no subscriber) are purged at once, as Orleans'
/// own caches do.</para>
/// <para>Purging is not prefix-based: one stuck stream holds only its own batches, while the others keep
/// flowing (the checkpoint still waits for the stuck one). Purges happen only in
/// <see cref="TryPurgeFromCache"/>, so cursors replaced within one turn (dispose, then create) never
/// release batches in between.</para>
/// <para>A consumer that fell behind catches up in few deliveries: when its cursor moves to a batch that has
/// more of its stream's batches behind it, none of them started by another cursor, they are merged into one
/// delivery of up to <c>maxAddCount</c> events (the batches a read makes stay what is purged and
/// checkpointed).</para>
/// <para>Reading pauses (cache pressure) when the cache holds <c>capacity</c> events, or when it holds its share
/// of a full silo-wide <see cref="KafkaCacheBudget"/>.</para>
/// <para>All members run on the pulling agent's turn; the cache is not thread-safe (the budget is).</para>
/// </remarks>
internal sealed class KafkaQueueCache : IQueueCache
{
    private readonly int _capacity;
    private readonly int _maxAddCount;
    private readonly KafkaCacheBudget? _budget;
    private readonly Dictionary<StreamId, StreamLog> _streams = [];
    private readonly HashSet<StreamLog> _changed = new(ReferenceEqualityComparer.Instance);
    private readonly List<IBatchContainer> _finishedAtShutdown = [];
    private bool _left;

    public KafkaQueueCache(QueueId queueId, int capacity, int maxAddCount, KafkaCacheBudget? budget = null)
    {
        QueueId = queueId;
        _capacity = capacity;
        _maxAddCount = maxAddCount;
        _budget = budget;
        _budget?.Join();
    }

    public QueueId QueueId { get; }

    /// <summary>Events in the cache (read and not yet purged).</summary>
    public int CachedEvents { get; private set; }

    /// <summary>Streams with batches or cursors in the cache.</summary>
    public int StreamCount => _streams.Count;

    /// <summary>Called when a consumer has finished a batch (it may be purged now), on the pulling agent's turn.</summary>
    public Action? BatchFinished { get; set; }

    public int GetMaxAddCount() => _maxAddCount;

    public bool IsUnderPressure() => CachedEvents >= _capacity || _budget?.IsExceededBy(CachedEvents) == true;

    /// <summary>The queue has stopped: the cache no longer counts against the silo's budget.</summary>
    public void LeaveBudget()
    {
        if (_budget is not null && !_left)
        {
            _left = true;
            _budget.Leave(CachedEvents);
        }
    }

    public void AddToCache(IList<IBatchContainer> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        foreach (var message in messages)
        {
            var batch = (KafkaBatchContainer)message;
            var log = LogOf(batch.StreamId);
            log.Append(batch);
            Count(batch.Count);
            if (log.CursorCount == 0)
            {
                // Purged at the next purge unless a cursor arrives first (the pulling agent pins new streams
                // with a cursor in the same turn, before it purges again).
                _changed.Add(log);
            }
        }
    }

    public bool TryPurgeFromCache([MaybeNullWhen(false)] out IList<IBatchContainer> purgedItems)
    {
        purgedItems = null;
        if (_changed.Count == 0)
        {
            return false;
        }

        var purged = new List<IBatchContainer>();
        foreach (var log in _changed)
        {
            log.Release(purged);
            if (log.IsEmpty && log.CursorCount == 0)
            {
                _streams.Remove(log.StreamId);
            }
        }

        _changed.Clear();
        foreach (KafkaBatchContainer batch in purged)
        {
            Count(-batch.Count);
        }

        purgedItems = purged;
        return purged.Count > 0;
    }

    /// <summary>
    /// Orleans calls this as the queue shuts down, after every delivery in flight has returned and before it
    /// disposes the cursors: the last moment to tell what is finished. The batches finished since the last
    /// purge are kept for <see cref="TakeFinishedAtShutdown"/>, so the final checkpoint covers them.
    /// </summary>
    public void UpdateDeliveryProgress(StreamSequenceToken? earliestSubscriptionToken, DateTime utcNow)
    {
        if (TryPurgeFromCache(out var purged))
        {
            _finishedAtShutdown.AddRange(purged);
        }
    }

    /// <summary>The batches found finished as the queue shut down (see <see cref="UpdateDeliveryProgress"/>).</summary>
    public List<IBatchContainer> TakeFinishedAtShutdown()
    {
        var finished = _finishedAtShutdown.ToList();
        _finishedAtShutdown.Clear();
        return finished;
    }

    [Obsolete("Orleans calls TryGetCacheCursor.")]
    public IQueueCacheCursor GetCacheCursor(StreamId streamId, StreamSequenceToken? token) => CreateCursor(streamId, token);

    /// <summary>
    /// A cursor whose first move yields the stream's first batch at or after <paramref name="token"/>, or
    /// its oldest batch still cached when <paramref name="token"/> is null or older than that. Never a
    /// cache miss: whatever is still cached has not been finished by every consumer.
    /// </summary>
    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursor(StreamId streamId, StreamSequenceToken? token) =>
        QueueCacheCursorResult<IQueueCacheCursor>.FromCursor(CreateCursor(streamId, token));

    public QueueCacheCursorResult<IQueueCacheCursor> TryGetCacheCursorAtPosition(StreamId streamId, StreamSubscriptionStartPosition startPosition) =>
        startPosition is StreamSubscriptionStartPosition.Latest or StreamSubscriptionStartPosition.EarliestAvailable
            ? QueueCacheCursorResult<IQueueCacheCursor>.FromCursor(CreateCursor(streamId, null))
            : throw new ArgumentOutOfRangeException(nameof(startPosition), startPosition, "Unknown start position.");

    private Cursor CreateCursor(StreamId streamId, StreamSequenceToken? token)
    {
        var log = LogOf(streamId);
        var cursor = new Cursor(this, log, token is null ? log.Head : log.IndexOf(token), _maxAddCount);
        log.Add(cursor);
        return cursor;
    }

    private StreamLog LogOf(StreamId streamId)
    {
        if (!_streams.TryGetValue(streamId, out var log))
        {
            log = new StreamLog(streamId);
            _streams.Add(streamId, log);
        }

        return log;
    }

    private void Changed(StreamLog log) => _changed.Add(log);

    private void Count(int events)
    {
        CachedEvents += events;
        if (!_left)
        {
            _budget?.Add(events);
        }
    }

    /// <summary>One stream's batches in the cache, in offset order, addressed by absolute index.</summary>
    private sealed class StreamLog(StreamId streamId)
    {
        private readonly List<KafkaBatchContainer?> _items = [];
        private readonly List<Cursor> _cursors = new(1);
        private int _start;

        public StreamId StreamId { get; } = streamId;

        /// <summary>Absolute index of the oldest cached batch.</summary>
        public long Head { get; private set; }

        /// <summary>Absolute index after the newest cached batch.</summary>
        public long End => Head + (_items.Count - _start);

        public bool IsEmpty => End == Head;

        public int CursorCount => _cursors.Count;

        public KafkaBatchContainer this[long index] => _items[_start + (int)(index - Head)]!;

        public void Append(KafkaBatchContainer batch) => _items.Add(batch);

        public void Add(Cursor cursor) => _cursors.Add(cursor);

        public void Remove(Cursor cursor) => _cursors.Remove(cursor);

        /// <summary>
        /// The absolute index of the first batch that ends at or after <paramref name="token"/>: a batch holding
        /// the token is delivered again whole, never skipped with the events after the token (consumers skip
        /// what they applied already; batches need not start where another silo's did).
        /// </summary>
        public long IndexOf(StreamSequenceToken token)
        {
            int low = _start, high = _items.Count;
            while (low < high)
            {
                var middle = low + ((high - low) / 2);
                if (_items[middle]!.LastToken.CompareTo(token) < 0)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            return Head + (low - _start);
        }

        /// <summary>
        /// Merges the batch at <paramref name="index"/> with those after it, up to <paramref name="maxEvents"/>
        /// events, unless a cursor other than <paramref name="mover"/> has started on them already (is delivering
        /// the batch at <paramref name="index"/>, or is past it).
        /// </summary>
        public void Coalesce(long index, int maxEvents, Cursor mover)
        {
            foreach (var cursor in _cursors)
            {
                if (!ReferenceEquals(cursor, mover) && (cursor.Frontier > index || (cursor.Frontier == index && cursor.HasCurrent)))
                {
                    return;
                }
            }

            var at = _start + (int)(index - Head);
            var events = _items[at]!.Count;
            var end = at + 1;
            while (end < _items.Count && events + _items[end]!.Count <= maxEvents)
            {
                events += _items[end]!.Count;
                end++;
            }

            if (end - at < 2)
            {
                return;
            }

            var merged = KafkaBatchContainer.Merge(_items.GetRange(at, end - at)!);
            _items[at] = merged;
            _items.RemoveRange(at + 1, end - at - 1);
        }

        /// <summary>Moves the batches every cursor has passed (all of them without cursors) into <paramref name="purged"/>.</summary>
        public void Release(List<IBatchContainer> purged)
        {
            var upTo = End;
            foreach (var cursor in _cursors)
            {
                upTo = Math.Min(upTo, cursor.Frontier);
            }

            while (Head < upTo)
            {
                purged.AddRange(_items[_start]!.AsRead);
                _items[_start] = null;
                _start++;
                Head++;
            }

            if (_start == _items.Count)
            {
                _items.Clear();
                _start = 0;
            }
            else if (_start > 32 && _start * 2 > _items.Count)
            {
                _items.RemoveRange(0, _start);
                _start = 0;
            }
        }
    }

    /// <summary>
    /// A consumer's position in one stream's log. <see cref="Frontier"/> is the first batch this consumer
    /// has not finished: the current batch while it is being delivered, the next one after a move.
    /// </summary>
    private sealed class Cursor(KafkaQueueCache cache, StreamLog log, long frontier, int maxEvents) : IQueueCacheCursor
    {
        private bool _disposed;

        public long Frontier { get; private set; } = frontier;

        /// <summary>Whether the batch at <see cref="Frontier"/> is being delivered by this cursor.</summary>
        public bool HasCurrent { get; private set; }

        public IBatchContainer? GetCurrent(out Exception? exception)
        {
            exception = null;
            return HasCurrent ? log[Frontier] : null;
        }

        public QueueCacheCursorMoveResult MoveNextWithResult()
        {
            if (_disposed)
            {
                return QueueCacheCursorMoveResult.NoData;
            }

            if (HasCurrent)
            {
                // The current batch is finished for this consumer: delivered, or failed and handled.
                HasCurrent = false;
                Frontier++;
                cache.Changed(log);
                cache.BatchFinished?.Invoke();
            }

            if (Frontier < log.End)
            {
                log.Coalesce(Frontier, maxEvents, this);
                HasCurrent = true;
                return QueueCacheCursorMoveResult.Success;
            }

            return QueueCacheCursorMoveResult.NoData;
        }

        [Obsolete("Orleans calls MoveNextWithResult.")]
        public bool MoveNext() => MoveNextWithResult().Kind == QueueCacheCursorMoveResultKind.Success;

        public void Refresh(StreamSequenceToken token)
        {
            // New batches are appended to the log the cursor reads; nothing to refresh.
        }

        public void RecordDeliveryFailure()
        {
            if (!HasCurrent)
            {
                return;
            }

            foreach (var part in log[Frontier].AsRead)
            {
                if (part.Pending is { } pending)
                {
                    pending.DeliveryFailed = true;
                }
            }
        }

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                log.Remove(this);
                cache.Changed(log);
            }
        }
    }
}
