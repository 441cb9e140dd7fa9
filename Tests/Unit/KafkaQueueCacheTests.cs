using Hearth.Streaming.Kafka.Caching;
using Hearth.Streaming.Kafka.Providers;
using Orleans.Streams;

namespace Hearth.Tests.Unit;

/// <summary>The provider's cache: indexed by stream, and nothing leaves it before every cursor of its stream is past it.</summary>
public sealed class KafkaQueueCacheTests
{
    private static readonly QueueId Queue = QueueId.GetQueueId("topic", 0, 0);
    private long _offset;

    [Fact]
    public void ACursor_SeesOnlyItsStream_InOrder()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a"), Batch("b"), Batch("a"), Batch("b"), Batch("a")]);

        using var cursor = Cursor(cache, "a", null);

        Assert.Equal([0L, 2L, 4L], Drain(cursor).SelectMany(b => b.Offsets));
    }

    [Fact]
    public void ABatch_IsPurgedOnlyWhenTheCursorHasMovedPastIt_NotWhileItIsBeingDelivered()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a")]);
        using var cursor = Cursor(cache, "a", null);

        Assert.Equal(QueueCacheCursorMoveResultKind.Success, cursor.MoveNextWithResult().Kind);
        // The first batch is being delivered: nothing may go, not even with a batch read after it.
        cache.AddToCache([Batch("a")]);
        Assert.False(cache.TryPurgeFromCache(out _));

        cursor.MoveNextWithResult();
        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal([0L], purged.Cast<KafkaBatchContainer>().Select(b => b.Offsets[0]));
        Assert.Equal(1, cache.CachedEvents);
    }

    [Fact]
    public void AStuckStream_HoldsOnlyItsOwnBatches()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("stuck"), Batch("free"), Batch("free")]);
        using var stuck = Cursor(cache, "stuck", null);
        using var free = Cursor(cache, "free", null);
        stuck.MoveNextWithResult();

        Drain(free);

        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal([1L, 2L], purged.Cast<KafkaBatchContainer>().Select(b => b.Offsets[0]).Order());
        Assert.Equal(1, cache.CachedEvents);
    }

    [Fact]
    public void WithTwoCursorsOnAStream_ABatchWaitsForTheSlowerOne()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a")]);
        using var fast = Cursor(cache, "a", null);
        using var slow = Cursor(cache, "a", null);

        Drain(fast);
        Assert.False(cache.TryPurgeFromCache(out _));

        Drain(slow);
        Assert.True(cache.TryPurgeFromCache(out _));
    }

    [Fact]
    public void BatchesOfAStreamWithNoCursor_ArePurgedAtTheNextPurge()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("nobody")]);

        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Single(purged);
    }

    [Fact]
    public void ACursorReplacedWithinATurn_ReleasesNothingInBetween()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a"), Batch("a")]);
        var first = Cursor(cache, "a", null);
        first.MoveNextWithResult();
        var position = first.GetCurrent(out _)!.SequenceToken;

        // What Orleans' pulling agent does to recover a consumer: dispose, then a new cursor at its last token.
        first.Dispose();
        using var second = Cursor(cache, "a", position);

        Assert.False(cache.TryPurgeFromCache(out _));
        Assert.Equal([0L, 1L], Drain(second).SelectMany(b => b.Offsets));
    }

    [Fact]
    public void ACursorAtAToken_StartsAtTheFirstBatchAtOrAfterIt()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a"), Batch("a"), Batch("a")]);

        using var cursor = Cursor(cache, "a", new KafkaSequenceToken("topic", 0, 1));

        Assert.Equal([1L, 2L], Drain(cursor).SelectMany(b => b.Offsets));
    }

    [Fact]
    public void ACursorAtATokenInsideABatch_StartsAtThatBatch_NotAfterIt()
    {
        // Another silo's batches need not start where this one's do: what follows the token must not be skipped.
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a", 3), Batch("a")]);

        using var cursor = Cursor(cache, "a", new KafkaSequenceToken("topic", 0, 1));

        Assert.Equal([0L, 1L, 2L, 3L], Drain(cursor).SelectMany(b => b.Offsets));
    }

    [Fact]
    public void AConsumerBehind_GetsItsStreamsWaitingBatchesInOneDelivery_UpToTheMostOneReadTakes()
    {
        var cache = new KafkaQueueCache(Queue, 100, 3);
        cache.AddToCache([Batch("a"), Batch("b"), Batch("a"), Batch("a"), Batch("a", 2)]);
        using var cursor = Cursor(cache, "a", null);

        var deliveries = Drain(cursor);

        Assert.Equal([[0L, 2L, 3L], [4L, 5L]], deliveries.Select(d => d.Offsets));
        Assert.Equal(["event 0", "event 2", "event 3"], deliveries[0].GetEvents<string>().Select(e => e.Item1));
        Assert.Equal([0L, 2L, 3L], deliveries[0].GetEvents<string>().Select(e => ((KafkaSequenceToken)e.Item2).Offset));
        // What is purged, and so checkpointed, is the batches as read, each with its own bookkeeping.
        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal([0L, 2L, 3L, 4L], purged.Cast<KafkaBatchContainer>().Where(b => b.StreamId.GetKeyAsString() == "a")
            .Select(b => b.Offsets[0]).Order());
        Assert.All(purged.Cast<KafkaBatchContainer>(), b => Assert.NotNull(b.Pending));
        Assert.Equal(0, cache.CachedEvents);
    }

    [Fact]
    public void BatchesAnotherCursorHasStarted_AreNotMerged_AndEachCursorSeesEveryEvent()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a"), Batch("a")]);
        using var ahead = Cursor(cache, "a", null);
        using var behind = Cursor(cache, "a", null);
        ahead.MoveNextWithResult();
        ahead.MoveNextWithResult();
        ahead.MoveNextWithResult();
        cache.AddToCache([Batch("a"), Batch("a")]);

        // ahead merged the first two (behind had not started them) and is past them: behind gets them as they are.
        Assert.Equal([0L, 1L, 2L, 3L], Drain(behind).SelectMany(b => b.Offsets));
        Assert.Equal([2L, 3L], Drain(ahead).SelectMany(b => b.Offsets));
        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.Equal(4, purged.Count);
    }

    [Fact]
    public void AFailedDelivery_IsMarked_SoThatThePurgedBatchIsDeadLettered()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        var batch = Batch("a");
        cache.AddToCache([batch]);
        using var cursor = Cursor(cache, "a", null);

        cursor.MoveNextWithResult();
        cursor.RecordDeliveryFailure();
        cursor.MoveNextWithResult();

        Assert.True(cache.TryPurgeFromCache(out var purged));
        Assert.True(((KafkaBatchContainer)Assert.Single(purged)).Pending!.DeliveryFailed);
    }

    [Fact]
    public void ABatchAnotherCursorIsDelivering_IsNotMergedUnderIt()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a")]);
        using var delivering = Cursor(cache, "a", null);
        using var arriving = Cursor(cache, "a", null);
        delivering.MoveNextWithResult();
        cache.AddToCache([Batch("a")]);

        arriving.MoveNextWithResult();

        // What the first cursor delivers, fails or finishes is still the one batch it started on.
        Assert.Equal([0L], ((KafkaBatchContainer)delivering.GetCurrent(out _)!).Offsets);
        Assert.Equal([0L], ((KafkaBatchContainer)arriving.GetCurrent(out _)!).Offsets);
        Assert.Equal([1L], Drain(delivering).SelectMany(b => b.Offsets));
        Assert.Equal([1L], Drain(arriving).SelectMany(b => b.Offsets));
    }

    [Fact]
    public void AFailedDeliveryOfMergedBatches_MarksEveryOneOfThem()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a"), Batch("a"), Batch("b")]);
        using var cursor = Cursor(cache, "a", null);

        cursor.MoveNextWithResult();
        cursor.RecordDeliveryFailure();
        cursor.MoveNextWithResult();

        Assert.True(cache.TryPurgeFromCache(out var purged));
        var failed = purged.Cast<KafkaBatchContainer>().Where(b => b.StreamId.GetKeyAsString() == "a").ToList();
        Assert.Equal(2, failed.Count);
        Assert.All(failed, b => Assert.True(b.Pending!.DeliveryFailed));
        Assert.All(purged.Cast<KafkaBatchContainer>().Where(b => b.StreamId.GetKeyAsString() == "b"), b => Assert.False(b.Pending!.DeliveryFailed));
    }

    [Fact]
    public void TheCacheIsUnderPressure_WhenItHoldsItsCapacityInEvents()
    {
        var cache = new KafkaQueueCache(Queue, 3, 10);
        cache.AddToCache([Batch("a"), Batch("b")]);
        Assert.False(cache.IsUnderPressure());

        cache.AddToCache([Batch("c")]);
        Assert.True(cache.IsUnderPressure());
        // Orleans stops pulling a queue whose add count is 0, and with it the purges: it must never be 0.
        Assert.Equal(10, cache.GetMaxAddCount());
    }

    [Fact]
    public void WhenTheSilosCachesTogetherHoldTheBudget_TheFullerCachesPause_AndOneHoldingLessThanItsShareReadsOn()
    {
        var budget = new KafkaCacheBudget(6);
        var full = new KafkaQueueCache(Queue, 100, 10, budget);
        var light = new KafkaQueueCache(QueueId.GetQueueId("topic", 1, 0), 100, 10, budget);
        full.AddToCache([Batch("a", 4)]);
        light.AddToCache([Batch("b", 1)]);
        Assert.False(full.IsUnderPressure());

        full.AddToCache([Batch("a")]);

        // 6 of 6 held; a share is 3: the cache holding 5 pauses, the one holding 1 does not.
        Assert.True(full.IsUnderPressure());
        Assert.False(light.IsUnderPressure());
        Assert.Equal(6, budget.Events);
    }

    [Fact]
    public void PurgedEvents_AndAStoppedQueuesEvents_NoLongerCountAgainstTheBudget()
    {
        var budget = new KafkaCacheBudget(4);
        var stopping = new KafkaQueueCache(Queue, 100, 10, budget);
        var running = new KafkaQueueCache(QueueId.GetQueueId("topic", 1, 0), 100, 10, budget);
        stopping.AddToCache([Batch("a", 2)]);
        running.AddToCache([Batch("nobody", 1), Batch("b", 2)]);
        using var cursor = Cursor(running, "b", null);
        Assert.True(running.IsUnderPressure());

        Assert.True(running.TryPurgeFromCache(out _));
        Assert.Equal(4, budget.Events);
        stopping.LeaveBudget();
        stopping.LeaveBudget();

        Assert.Equal(2, budget.Events);
        Assert.Equal(1, budget.Caches);
        Assert.False(running.IsUnderPressure());
    }

    [Fact]
    public void AtShutdown_WhatIsFinishedIsHandedToTheFinalCheckpoint()
    {
        var cache = new KafkaQueueCache(Queue, 100, 10);
        cache.AddToCache([Batch("a"), Batch("a")]);
        var cursor = Cursor(cache, "a", null);
        Drain(cursor);

        cache.UpdateDeliveryProgress(null, DateTime.UtcNow);
        cursor.Dispose();

        Assert.Equal(2, cache.TakeFinishedAtShutdown().Count);
    }

    private KafkaBatchContainer Batch(string key, int events = 1)
    {
        var offsets = Enumerable.Range(0, events).Select(_ => _offset++).ToArray();
        return new KafkaBatchContainer(StreamId.Create("ns", key), "topic", 0, offsets, [.. offsets.Select(o => (object)$"event {o}")])
        {
            Pending = new PendingBatch(new ReadBlock(offsets[0])),
        };
    }

    private static IQueueCacheCursor Cursor(KafkaQueueCache cache, string key, StreamSequenceToken? token) =>
        cache.TryGetCacheCursor(StreamId.Create("ns", key), token).Cursor!;

    private static List<KafkaBatchContainer> Drain(IQueueCacheCursor cursor)
    {
        var batches = new List<KafkaBatchContainer>();
        while (cursor.MoveNextWithResult().Kind == QueueCacheCursorMoveResultKind.Success)
        {
            batches.Add((KafkaBatchContainer)cursor.GetCurrent(out _)!);
        }

        return batches;
    }
}
