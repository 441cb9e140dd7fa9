using Confluent.Kafka;
using Hearth.Streaming.Kafka.Caching;
using Hearth.Streaming.Kafka.Diagnostics;
using Hearth.Streaming.Kafka.Producing;
using Microsoft.Extensions.Logging;
using Orleans.Streams;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// Pulls one Kafka partition for its Orleans queue: a consumer assigned that partition alone, starting at
/// the partition's committed offset; decodes what it reads, groups it by stream into batches, and moves
/// the checkpoint as the cache reports batches finished.
/// </summary>
/// <remarks>
/// Orleans calls every member on the queue's pulling agent, one at a time; only dead-letter
/// acknowledgements arrive on other threads (see <see cref="PartitionProgress"/>).
/// </remarks>
internal sealed partial class KafkaQueueReceiver : IQueueAdapterReceiver
{
    private const string DeliveryFailedReason =
        "delivery to a consumer of its stream kept failing until the stream provider's maximum delivery time; see the silo's log for the consumer's error";

    private const string NotReadBack = " (the message could not be read back from Kafka for this record: deleted, or Kafka did not answer; key and value are empty)";

    /// <summary>How long reading a failed batch's messages back may take before they are dead-lettered without them.</summary>
    private static readonly TimeSpan ReadBackTimeout = TimeSpan.FromSeconds(30);

    private readonly QueueId _queueId;
    private readonly TopicPartition _partition;
    private readonly KafkaClients _clients;
    private readonly IKafkaDataAdapter _adapter;
    private readonly KafkaPublisher _publisher;
    private readonly KafkaStreamMetrics _metrics;
    private readonly KafkaQueueCache? _cache;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PartitionProgress _progress = new();
    private readonly KafkaMessageReader _reader;
    private readonly string _incarnation;
    private readonly Action<KafkaQueueReceiver> _released;
    private readonly string? _readBy;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private Task? _initializing;
    private long _stored = -1;
    private long _highWatermark = -1;
    private long _received;
    private long _delivered;
    private long _deadLettered;
    private DateTimeOffset _since;

    public KafkaQueueReceiver(
        QueueId queueId, TopicPartition partition, KafkaClients clients, IKafkaDataAdapter adapter, KafkaPublisher publisher,
        KafkaStreamMetrics metrics, KafkaQueueCache? cache, TimeProvider time, ILogger logger, Action<KafkaQueueReceiver> released,
        string? readBy = null)
    {
        _readBy = readBy;
        _released = released;
        _queueId = queueId;
        _partition = partition;
        _clients = clients;
        _adapter = adapter;
        _publisher = publisher;
        _metrics = metrics;
        _cache = cache;
        _time = time;
        _logger = logger;
        _incarnation = clients.Options.LogIncarnation;
        _reader = new KafkaMessageReader(clients, partition, queueId.ToString(), time);
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

    public Task Initialize(TimeSpan timeout) => _initializing = InitializeAsync(timeout);

    private async Task InitializeAsync(TimeSpan timeout)
    {
        var consumer = _clients.CreateConsumer(_queueId.ToString());
        try
        {
            // Committed offsets are the checkpoints; without one the partition is read from its beginning.
            var committed = await Task.Run(() => consumer.Committed([_partition], timeout)).ConfigureAwait(true);
            var start = committed.Count == 1 && committed[0].Offset.Value >= 0 ? committed[0].Offset : Offset.Beginning;
            consumer.Assign(new TopicPartitionOffset(_partition, start));
            if (start.Value >= 0)
            {
                _progress.ReadUpTo(start.Value);
                _progress.Advance();
                _stored = start.Value;
            }

            _consumer = consumer;
            _since = _time.GetUtcNow();
            LogStarted(_logger, _partition.Topic, _partition.Partition.Value, start.Value >= 0 ? start.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : "its beginning");
        }
        catch
        {
            consumer.Dispose();
            throw;
        }
    }

    [Obsolete("Orleans calls the overload with a CancellationToken, which forwards here.")]
    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount)
    {
        var consumer = await ConsumerAsync().ConfigureAwait(true);
        if (consumer is null)
        {
            return [];
        }

        Checkpoint(consumer);
        Dictionary<StreamId, Group>? groups = null;
        ReadBlock? block = null;
        var read = 0;
        long last = -1;
        while (read < maxCount)
        {
            ConsumeResult<byte[]?, byte[]?>? result;
            try
            {
                result = consumer.Consume(TimeSpan.Zero);
            }
            catch (ConsumeException e)
            {
                LogConsumeFailed(_logger, _partition.Topic, _partition.Partition.Value, e.Error.Code, e.Error.Reason);
                break;
            }

            if (result is null)
            {
                break;
            }

            if (result.IsPartitionEOF)
            {
                continue;
            }

            block ??= _progress.Open(result.Offset.Value);
            read++;
            last = result.Offset.Value;
            var decoded = Decode(result);
            if (!decoded.IsSuccess)
            {
                DeadLetter(result, decoded.Error!, block, "decode");
                continue;
            }

            groups ??= [];
            if (!groups.TryGetValue(decoded.StreamId, out var group))
            {
                group = new Group();
                groups.Add(decoded.StreamId, group);
            }

            group.Add(decoded.Item!, result);
        }

        if (block is null)
        {
            return [];
        }

        _progress.ReadUpTo(last + 1);
        Interlocked.Add(ref _received, read);
        _metrics.Received(_partition.Topic, read);
        var high = consumer.GetWatermarkOffsets(_partition).High;
        if (high.Value >= 0)
        {
            Volatile.Write(ref _highWatermark, high.Value);
        }

        var batches = new List<IBatchContainer>(groups?.Count ?? 0);
        foreach (var (streamId, group) in groups ?? [])
        {
            block.AddPart();
            batches.Add(new KafkaBatchContainer(streamId, _partition.Topic, _partition.Partition.Value, _incarnation,
                group.Offsets.ToArray(), group.Timestamps.ToArray(), group.Events.ToArray())
            {
                Pending = new PendingBatch(block),
                ReadBy = _readBy,
            });
        }

        block.Seal();
        Checkpoint(consumer);
        return batches;
    }

    [Obsolete("Orleans calls the overload with a CancellationToken, which forwards here.")]
    public async Task MessagesDeliveredAsync(IList<IBatchContainer> messages)
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

        if (_consumer is { } consumer)
        {
            Checkpoint(consumer);
        }
    }

    public async Task Shutdown(TimeSpan timeout)
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
#pragma warning disable CS0618 // The obsolete overload is the one this receiver implements.
            await MessagesDeliveredAsync(finished);
#pragma warning restore CS0618
        }

        _consumer = null;
        Checkpoint(consumer);
        var checkpoint = _progress.Committable;
        await Task.Run(() =>
        {
            try
            {
                // What was stored since the last background commit; the next owner starts here.
                consumer.Commit();
            }
            catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_NoOffset)
            {
                // Nothing new to commit.
            }
            catch (KafkaException e)
            {
                LogFinalCommitFailed(_logger, _partition.Topic, _partition.Partition.Value, e.Error.Reason);
            }

            consumer.Close();
            consumer.Dispose();
        }).WaitAsync(timeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        _released(this);
        LogStopped(_logger, _partition.Topic, _partition.Partition.Value, checkpoint < 0 ? "none (nothing read)" : checkpoint.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task<IConsumer<byte[]?, byte[]?>?> ConsumerAsync()
    {
        if (_consumer is { } consumer)
        {
            return consumer;
        }

        // Initialization failed (Orleans goes on pulling regardless): try again, at most once per read.
        if (_initializing is { IsCompleted: false } initializing)
        {
            await initializing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            return _consumer;
        }

        try
        {
            await (_initializing = InitializeAsync(TimeSpan.FromSeconds(5))).ConfigureAwait(true);
        }
        catch (Exception e)
        {
            LogInitializeFailed(_logger, _partition.Topic, _partition.Partition.Value, e.Message);
        }

        return _consumer;
    }

    private KafkaDecodeResult Decode(ConsumeResult<byte[]?, byte[]?> result)
    {
        var message = new KafkaMessage(
            _partition.Topic, _partition.Partition.Value, result.Offset.Value, result.Message.Key, result.Message.Value,
            result.Message.Key is not null, result.Message.Timestamp.UtcDateTime, result.Message.Headers);
        try
        {
            return _adapter.Decode(message);
        }
        catch (Exception e)
        {
            return KafkaDecodeResult.Reject($"the data adapter failed: {e.GetType().Name}: {e.Message}");
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

    /// <summary>Stores the new checkpoint, if it moved; the consumer commits it in the background.</summary>
    private void Checkpoint(IConsumer<byte[]?, byte[]?> consumer)
    {
        var committable = _progress.Advance();
        if (committable <= _stored)
        {
            return;
        }

        try
        {
            consumer.StoreOffset(new TopicPartitionOffset(_partition, committable));
            _stored = committable;
        }
        catch (KafkaException e)
        {
            LogStoreFailed(_logger, _partition.Topic, _partition.Partition.Value, committable, e.Error.Reason);
        }
    }

    /// <summary>One stream's events of a read, in offset order.</summary>
    private sealed class Group
    {
        public List<long> Offsets { get; } = new(4);

        public List<long> Timestamps { get; } = new(4);

        public List<object> Events { get; } = new(4);

        public void Add(object item, ConsumeResult<byte[]?, byte[]?> message)
        {
            Offsets.Add(message.Offset.Value);
            Timestamps.Add(message.Message.Timestamp.UnixTimestampMs);
            Events.Add(item);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pulling {Topic}[{Partition}] from {Start}")]
    private static partial void LogStarted(ILogger logger, string topic, int partition, string start);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped pulling {Topic}[{Partition}]; checkpoint {Checkpoint}")]
    private static partial void LogStopped(ILogger logger, string topic, int partition, string checkpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not start pulling {Topic}[{Partition}] ({Reason}); retrying")]
    private static partial void LogInitializeFailed(ILogger logger, string topic, int partition, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading {Topic}[{Partition}] failed ({Code}: {Reason}); retrying at the next read")]
    private static partial void LogConsumeFailed(ILogger logger, string topic, int partition, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store checkpoint {Offset} of {Topic}[{Partition}] ({Reason}); the next one covers it")]
    private static partial void LogStoreFailed(ILogger logger, string topic, int partition, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}[{Partition}]@{Offset} failed delivery and could not be read back from Kafka; its dead-letter record has the origin headers but no key or value")]
    private static partial void LogNotReadBack(ILogger logger, string topic, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The final commit of {Topic}[{Partition}] failed ({Reason}); its next owner redelivers from the last committed offset")]
    private static partial void LogFinalCommitFailed(ILogger logger, string topic, int partition, string reason);
}
