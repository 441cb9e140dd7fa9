using System.Globalization;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Caching;
using Hearth.Streaming.Kafka.Committing;
using Hearth.Streaming.Kafka.Diagnostics;
using Hearth.Streaming.Kafka.Producing;
using Hearth.Streaming.Kafka.Receiving;
using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// Pulls one Kafka partition for its Orleans queue: a consumer assigned that partition alone, starting at the
/// partition's committed offset, read by a <see cref="KafkaPartitionFetcher"/>; each read of the pulling agent
/// takes what the fetcher decoded (waiting for it when there is nothing yet) as one batch of the partition's
/// stream, and the checkpoint moves as the cache reports batches finished.
/// </summary>
/// <remarks>
/// <para>Orleans calls every member on the queue's pulling agent, one at a time; only dead-letter acknowledgements
/// arrive on other threads (see <see cref="PartitionProgress"/>).</para>
/// <para>Every message is stamped with the life of its topic that the consumer reads (its Kafka topic id, see
/// <see cref="KafkaTopicWatch.LogOf"/>), as consumers compare offsets only within one life. When the topic turns out to
/// be a new one (its id changed, or its offsets went back), the receiver stops reading, lets what it read of the old
/// life finish, and starts a new consumer on the new life: from the committed offset, or the beginning when that lies
/// beyond the end. From the moment it knows, it stores no checkpoint and the committer commits none of the old life's, as
/// the old life's offsets mean nothing in the new one.</para>
/// </remarks>
internal sealed partial class KafkaQueueReceiver : IQueueAdapterReceiver
{
    /// <summary>
    /// How long a read waits for messages before it answers the pulling agent with none. The agent reads again
    /// after its timer period; meanwhile it delivers what it has (waiting takes no thread), and a finished batch
    /// ends the wait early so that the agent can release it.
    /// </summary>
    internal static readonly TimeSpan ReceiveWait = TimeSpan.FromSeconds(1);

    private const string DeliveryFailedReason =
        "delivery to a consumer of its stream kept failing until the stream provider's maximum delivery time; see the silo's log for the consumer's error";

    private const string NotReadBack = " (the message could not be read back from Kafka for this record: deleted, or Kafka did not answer; key and value are empty)";

    /// <summary>How long reading a failed batch's messages back may take before they are dead-lettered without them.</summary>
    private static readonly TimeSpan ReadBackTimeout = TimeSpan.FromSeconds(30);

    private readonly QueueId _queueId;
    private readonly TopicPartition _partition;
    private readonly StreamId _stream;
    private readonly KafkaClients _clients;
    private readonly IKafkaDataAdapter _adapter;
    private readonly KafkaPublisher _publisher;
    private readonly KafkaCheckpointCommitter _committer;
    private readonly KafkaStreamMetrics _metrics;
    private readonly KafkaQueueCache? _cache;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KafkaTopicWatch _topics;
    private readonly KafkaMessageReader _reader;
    private readonly KafkaDeadLetterBacklog _deadLetters;
    private readonly Action<KafkaQueueReceiver> _released;
    private PartitionProgress _progress = new();
    private IConsumer<CapturedBytes.Marker, CapturedBytes.Marker>? _consumer;
    private KafkaPartitionFetcher? _fetcher;
    private string? _startOver;
    private Task? _initializing;
    private PartitionCheckpoint? _checkpoint;
    private long _highWatermark = -1;
    private long _received;
    private long _delivered;
    private long _deadLettered;
    private DateTimeOffset _since;

    public KafkaQueueReceiver(
        QueueId queueId, TopicPartition partition, KafkaClients clients, IKafkaDataAdapter adapter, KafkaPublisher publisher,
        KafkaCheckpointCommitter committer, KafkaStreamMetrics metrics, KafkaQueueCache? cache, KafkaTopicWatch topics, TimeProvider time,
        ILogger logger, Action<KafkaQueueReceiver> released)
    {
        _topics = topics;
        _released = released;
        _queueId = queueId;
        _partition = partition;
        _stream = clients.Options.StreamOf(partition.Topic, partition.Partition.Value);
        _clients = clients;
        _adapter = adapter;
        _publisher = publisher;
        _committer = committer;
        _metrics = metrics;
        _cache = cache;
        _time = time;
        _logger = logger;
        _reader = new KafkaMessageReader(clients, partition, queueId.ToString(), time);
        _deadLetters = publisher.BacklogOf(partition);
    }

    public QueueId QueueId => _queueId;

    public TopicPartition TopicPartition => _partition;

    /// <summary>The queue's cache, if Orleans created one.</summary>
    public KafkaQueueCache? Cache => _cache;

    /// <summary>What this receiver has done, for metrics and the cluster view. Safe to call from any thread.</summary>
    public KafkaPartitionStatus Status()
    {
        var checkpoint = Math.Max(_progress.Committable, 0);
        var high = Volatile.Read(ref _highWatermark);
        return new KafkaPartitionStatus(
            _partition.Topic, _partition.Partition.Value, checkpoint, high, high < 0 ? 0 : Math.Max(0, high - checkpoint),
            Interlocked.Read(ref _received), Interlocked.Read(ref _delivered), Interlocked.Read(ref _deadLettered),
            _cache?.CachedEvents ?? 0, _since);
    }

    /// <summary>Counts messages of this partition that a consumer dead-lettered (<see cref="IKafkaDeadLetters"/>).</summary>
    public void CountDeadLettered(int count) => Interlocked.Add(ref _deadLettered, count);

    public Task Initialize(TimeSpan timeout) => Initialize(timeout, CancellationToken.None);

    public Task Initialize(TimeSpan timeout, CancellationToken cancellationToken) => _initializing = InitializeAsync(timeout, cancellationToken);

    private async Task InitializeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var key = new CapturedBytes();
        var value = new CapturedBytes();
        // The life first: a committed offset read after it belongs to it or to an older one, never to a newer one.
        var log = _topics.LogOf(_partition.Topic);
        var consumer = _clients.CreateConsumer(_queueId.ToString(), key, value);
        try
        {
            // Committed offsets are the checkpoints; without one the partition is read from its beginning, and so it is
            // when the committed offset lies beyond the partition's end: the offset of an older life of the topic, whose
            // messages would otherwise be skipped (librdkafka would start it over too, at its first fetch, but unseen by
            // the checkpoint). The start is always a concrete offset: assigned "the beginning" while it does not know the
            // partition's leader yet, librdkafka waits for its offset-query timer (half a second) before it fetches anything.
            var (start, committedBeyondEnd) = await Task.Run(() =>
            {
                var committed = consumer.Committed([_partition], timeout);
                var watermarks = consumer.QueryWatermarkOffsets(_partition, timeout);
                var offset = committed.Count == 1 ? committed[0].Offset.Value : Offset.Unset.Value;
                return offset < 0 ? (watermarks.Low, (long?)null)
                    : offset > watermarks.High.Value ? (watermarks.Low, offset)
                    : (new Offset(offset), null);
            }, cancellationToken).ConfigureAwait(true);
            if (committedBeyondEnd is { } beyond)
            {
                LogCommittedBeyondEnd(_logger, _partition.Topic, _partition.Partition.Value, beyond, start.Value);
            }

            consumer.Assign(new TopicPartitionOffset(_partition, start));
            if (start.Value >= 0)
            {
                _progress.ReadUpTo(start.Value);
                _progress.Advance();
            }

            var fetcher = new KafkaPartitionFetcher(
                consumer, key, value, _partition, start.Value, _adapter, log, _clients.Options.MaxBatchSize, _logger);
            if (_cache is { } cache)
            {
                cache.BatchFinished = fetcher.Wake;
            }

            // An older life's offset beyond the end is not this partition's checkpoint: the first commit replaces it.
            _checkpoint = _committer.Register(_partition, committedBeyondEnd is null ? start.Value : Offset.Unset.Value);
            _consumer = consumer;
            _fetcher = fetcher;
            _since = _time.GetUtcNow();
            LogStarted(_logger, _partition.Topic, _partition.Partition.Value,
                start.Value >= 0 ? start.Value.ToString(CultureInfo.InvariantCulture) : "its beginning", Named(log));
        }
        catch
        {
            consumer.Dispose();
            throw;
        }
    }

    [Obsolete("Orleans calls the overload with a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        if (await FetcherAsync().ConfigureAwait(true) is not { } fetcher || _consumer is not { } consumer)
        {
            return [];
        }

        Checkpoint();
        if (_startOver is null && StartOverReason(fetcher) is { } reason)
        {
            _startOver = reason;
            if (_checkpoint is { } old)
            {
                // Nothing of the old life is committed any more (a round under way may have taken it: it ends first).
                _checkpoint = null;
                await _committer.ForgetAsync(old).ConfigureAwait(true);
            }

            await fetcher.StopAsync().ConfigureAwait(true);
        }

        if (_startOver is not null && fetcher.Buffered == 0 && _progress.OpenBlocks == 0)
        {
            await StartOverAsync(fetcher, consumer).ConfigureAwait(true);
            return [];
        }

        // Dead letters not in Kafka yet are messages held in memory like cached ones: together they stay within the cache's
        // size, so while Kafka refuses them the partition reads no further (its lag grows, the silo's memory does not).
        var room = Math.Max(1, _clients.Options.CacheSize - (_cache?.CachedEvents ?? 0));
        if (!await _deadLetters.WaitBelowAsync(room, ReceiveWait, _time, cancellationToken).ConfigureAwait(true))
        {
            return [];
        }

        var fetched = await fetcher.TakeAsync(maxCount, ReceiveWait, cancellationToken).ConfigureAwait(true);
        RecordWatermark(consumer);
        if (fetched is null)
        {
            return [];
        }

        var block = _progress.Open(fetched.FirstOffset);
        foreach (var rejection in fetched.Rejected ?? [])
        {
            DeadLetter(rejection.Original, rejection.Reason, block, "decode");
        }

        _progress.ReadUpTo(fetched.LastOffset + 1);
        Interlocked.Add(ref _received, fetched.Count);
        _metrics.Received(_partition.Topic, fetched.Count);
        IList<IBatchContainer> batches = [];
        if (fetched.Events.Length > 0)
        {
            block.AddPart();
            batches = [new KafkaBatchContainer(_stream, _partition.Topic, _partition.Partition.Value, fetched.Offsets, fetched.Events)
            {
                Pending = new PendingBatch(block),
            }];
        }

        block.Seal();
        Checkpoint();
        return batches;
    }

    [Obsolete("Orleans calls the overload with a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => MessagesDeliveredAsync(messages, CancellationToken.None);

    public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        long finished = 0;
        foreach (var message in messages)
        {
            var batch = (KafkaBatchContainer)message;
            if (batch.Pending is not { } pending)
            {
                continue;
            }

            if (pending.DeliveryFailed)
            {
                await DeadLetterFailedAsync(batch, pending.Block).ConfigureAwait(true);
            }
            else
            {
                finished += batch.Count;
            }

            pending.Finish();
        }

        if (finished > 0)
        {
            Interlocked.Add(ref _delivered, finished);
            _metrics.Delivered(_partition.Topic, finished);
        }

        Checkpoint();
    }

    public Task Shutdown(TimeSpan timeout) => Shutdown(timeout, CancellationToken.None);

    public async Task Shutdown(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_initializing is { } initializing)
        {
            await initializing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        }

        if (_consumer is not { } consumer)
        {
            _released(this);
            return;
        }

        if (_cache?.TakeFinishedAtShutdown() is { Count: > 0 } finished)
        {
            await MessagesDeliveredAsync(finished, cancellationToken).ConfigureAwait(true);
        }

        var fetcher = _fetcher;
        _consumer = null;
        _fetcher = null;
        if (fetcher is not null)
        {
            await fetcher.DisposeAsync().ConfigureAwait(true);
        }

        // What was finished since the last commit; the next owner starts here.
        Checkpoint();
        var checkpoint = _progress.Committable;
        if (_checkpoint is { } mine)
        {
            await ((Task)_committer.CommitAsync(CancellationToken.None)).WaitAsync(timeout, CancellationToken.None)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            if (mine.Committed < mine.Stored)
            {
                LogFinalCommitMissed(_logger, _partition.Topic, _partition.Partition.Value, mine.Stored, mine.Committed);
            }

            _committer.Unregister(mine);
        }

        await CloseAsync(consumer).WaitAsync(timeout, CancellationToken.None)
            .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        _released(this);
        LogStopped(_logger, _partition.Topic, _partition.Partition.Value,
            _startOver is { } pending ? $"none ({pending})"
            : checkpoint < 0 ? "none (nothing read)" : checkpoint.ToString(CultureInfo.InvariantCulture));
    }

    private async Task<KafkaPartitionFetcher?> FetcherAsync()
    {
        if (_fetcher is { } fetcher)
        {
            return fetcher;
        }

        // Initialization failed (Orleans goes on pulling regardless): try again, at most once per read.
        if (_initializing is { IsCompleted: false } initializing)
        {
            await initializing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            return _fetcher;
        }

        try
        {
            await (_initializing = InitializeAsync(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(true);
        }
        catch (Exception e)
        {
            LogInitializeFailed(_logger, _partition.Topic, _partition.Partition.Value, e.Message);
        }

        return _fetcher;
    }

    /// <summary>
    /// Why the consumer must start over on a new life of its topic, or null while it reads the current one. A life
    /// read without a name (the consumer started before the topic's id was known) takes the id when it becomes known:
    /// it is the same life named at last, as <c>ThermostatState</c> takes an empty log for any life, not a new one.
    /// </summary>
    private string? StartOverReason(KafkaPartitionFetcher fetcher)
    {
        if (fetcher.WentBack is { } back)
        {
            return string.Create(CultureInfo.InvariantCulture, $"its offsets went back from {back.Expected} to {back.Found}");
        }

        var now = _topics.LogOf(_partition.Topic);
        var log = fetcher.TopicId;
        if (string.Equals(now, log, StringComparison.Ordinal))
        {
            return null;
        }

        if (log.Length == 0)
        {
            fetcher.TopicId = now;
            return null;
        }

        return $"its topic's life is {Named(now)} now, no longer {Named(log)}";
    }

    /// <summary>
    /// Replaces the consumer with one on the topic's current life, once everything read of the old one is finished
    /// (so no batch of the old life is still cached beside the new one's, whose offsets start again).
    /// </summary>
    private async Task StartOverAsync(KafkaPartitionFetcher fetcher, IConsumer<CapturedBytes.Marker, CapturedBytes.Marker> consumer)
    {
        var reason = _startOver!;
        var wentBack = fetcher.WentBack is not null;
        _fetcher = null;
        _consumer = null;
        await fetcher.DisposeAsync().ConfigureAwait(true);
        await CloseAsync(consumer).ConfigureAwait(true);

        var before = fetcher.TopicId;
        if (wentBack)
        {
            // The topic may have been created again since its ids were last read: read them now.
            await _topics.ReadLivesAgainAsync().WaitAsync(_clients.Options.MetadataTimeout)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        }

        _progress = new PartitionProgress();
        Volatile.Write(ref _highWatermark, -1);
        _startOver = null;
        var now = _topics.LogOf(_partition.Topic);
        if (wentBack && string.Equals(now, before, StringComparison.Ordinal))
        {
            LogStartsOverInTheSameLife(_logger, _partition.Topic, _partition.Partition.Value, reason, Named(now));
        }
        else
        {
            LogStartsOver(_logger, _partition.Topic, _partition.Partition.Value, reason, Named(now));
        }

        // A consumer on the current life; if that fails, the next read tries again.
        await FetcherAsync().ConfigureAwait(true);
    }

    /// <summary>Leaves the consumer's group session and frees it, off the agent's turn: closing blocks.</summary>
    private static Task CloseAsync(IConsumer<CapturedBytes.Marker, CapturedBytes.Marker> consumer) =>
        Task.Run(() =>
        {
            consumer.Close();
            consumer.Dispose();
        }, CancellationToken.None);

    private static string Named(string log) => log.Length == 0 ? "(no topic id)" : log;

    private void RecordWatermark(IConsumer<CapturedBytes.Marker, CapturedBytes.Marker> consumer)
    {
        var high = consumer.GetWatermarkOffsets(_partition).High;
        if (high.Value >= 0)
        {
            Volatile.Write(ref _highWatermark, high.Value);
        }
    }

    /// <summary>Dead-letters the messages of a batch whose delivery failed for good, read back from Kafka as they were.</summary>
    private async Task DeadLetterFailedAsync(KafkaBatchContainer batch, ReadBlock block)
    {
        var originals = await _reader.ReadAsync(batch.Offsets, ReadBackTimeout).ConfigureAwait(true);
        foreach (var offset in batch.Offsets)
        {
            if (originals.TryGetValue(offset, out var original))
            {
                DeadLetter(original, DeliveryFailedReason, block, "delivery");
            }
            else
            {
                LogNotReadBack(_logger, _partition.Topic, _partition.Partition.Value, offset);
                var placeholder = new ConsumeResult<byte[]?, byte[]?>
                {
                    TopicPartitionOffset = new TopicPartitionOffset(_partition, offset),
                    Message = new Message<byte[]?, byte[]?>(),
                };
                DeadLetter(placeholder, DeliveryFailedReason + NotReadBack, block, "delivery");
            }
        }
    }

    private void DeadLetter(ConsumeResult<byte[]?, byte[]?> message, string reason, ReadBlock block, string kind)
    {
        block.AddPart();
        Interlocked.Increment(ref _deadLettered);
        _metrics.DeadLettered(_partition.Topic, kind);
        _publisher.DeadLetter(_clients.Options.DeadLetterTopic, _partition, message, reason, block.FinishPart);
    }

    /// <summary>
    /// Stores the new checkpoint; the silo's committer commits it. Not while the consumer is to start over on a new life
    /// of the topic (the checkpoint is no longer registered then): an offset of the old life would be taken for one of
    /// the new.
    /// </summary>
    private void Checkpoint()
    {
        var committable = _progress.Advance();
        if (_startOver is null)
        {
            _checkpoint?.Store(committable);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulling {Topic}[{Partition}] from {Start} (topic life {Log})")]
    private static partial void LogStarted(ILogger logger, string topic, int partition, string start, string log);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}[{Partition}] starts over: {Reason}. What was read of it before is finished; a new consumer reads topic life {Log}")]
    private static partial void LogStartsOver(ILogger logger, string topic, int partition, string reason, string log);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}[{Partition}] starts over: {Reason}, and nothing tells a new topic from the old (topic life {Log}, Kafka gave no new topic id): its consumers compare the offsets they get with those of before, and skip what they take for applied")]
    private static partial void LogStartsOverInTheSameLife(ILogger logger, string topic, int partition, string reason, string log);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The committed offset {Committed} of {Topic}[{Partition}] lies beyond its end (an offset of the topic before it was created again): pulling it from its beginning, {Start}")]
    private static partial void LogCommittedBeyondEnd(ILogger logger, string topic, int partition, long committed, long start);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped pulling {Topic}[{Partition}]; checkpoint {Checkpoint}")]
    private static partial void LogStopped(ILogger logger, string topic, int partition, string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not start pulling {Topic}[{Partition}] ({Reason}); retrying")]
    private static partial void LogInitializeFailed(ILogger logger, string topic, int partition, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}[{Partition}]@{Offset} failed delivery and could not be read back from Kafka; its dead-letter record has the origin headers but no key or value")]
    private static partial void LogNotReadBack(ILogger logger, string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The final checkpoint {Checkpoint} of {Topic}[{Partition}] was not committed (see the committer's log); its next owner redelivers from {Committed}")]
    private static partial void LogFinalCommitMissed(ILogger logger, string topic, int partition, long checkpoint, long committed);
}
