using Confluent.Kafka;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.Logging;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Streaming.Kafka.Receiving;

/// <summary>
/// Reads one partition on a thread of its own: consumes, decodes with the data adapter and buffers what it
/// decoded, so that the pulling agent's read takes what is there, or waits (asynchronously) until something
/// arrives, instead of polling on a timer.
/// </summary>
/// <remarks>
/// <para>The buffer holds at most <c>capacity</c> messages; the thread stops consuming while it is full, and
/// librdkafka's prefetch (<c>queued.min.messages</c>, <c>queued.max.messages.kbytes</c>) bounds what waits
/// behind it. Decoding here keeps it off the agent's turn and spreads it over the partitions' threads.</para>
/// <para>One reader (the pulling agent) takes from the buffer; the thread is the only writer.</para>
/// <para>A partition's offsets only ever rise. A message below the last one means the consumer started the partition
/// over (librdkafka does so, from the beginning, when its position lies beyond the partition's end: the topic was
/// deleted and created again, or the log truncated): the thread stops there, without taking it, and says so
/// (<see cref="WentBack"/>), so that the receiver starts over knowing which life of the topic it reads.</para>
/// </remarks>
internal sealed partial class KafkaPartitionFetcher : IAsyncDisposable
{
    /// <summary>How long one consume call blocks before the thread looks at its stop signal again.</summary>
    private static readonly TimeSpan ConsumeSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the thread waits after a consume error before it tries again.</summary>
    private static readonly TimeSpan ErrorPause = TimeSpan.FromMilliseconds(500);

    private readonly IConsumer<CapturedBytes.Marker, CapturedBytes.Marker> _consumer;
    private readonly CapturedBytes _key;
    private readonly CapturedBytes _value;
    private readonly TopicPartition _partition;
    private readonly IKafkaDataAdapter _adapter;
    private string _topicId;
    private long _next;
    private (long Expected, long Found)? _wentBack;
    private bool _stopped;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();

    // The buffer: a ring of the offsets and events (or rejections) decoded and not yet taken.
    private readonly long[] _offsets;
    private readonly object[] _items;
    private int _head;
    private int _count;
    private readonly SemaphoreSlim _space = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _thread;
    private TaskCompletionSource? _waiter;
    private bool _woken;
    private bool _full;

    /// <param name="start">The offset the consumer was assigned at: no message below it is taken.</param>
    /// <param name="topicId">The life of the topic the messages belong to (<see cref="KafkaMessage.TopicId"/>).</param>
    public KafkaPartitionFetcher(
        IConsumer<CapturedBytes.Marker, CapturedBytes.Marker> consumer, CapturedBytes key, CapturedBytes value, TopicPartition partition,
        long start, IKafkaDataAdapter adapter, string topicId, int capacity, ILogger logger)
    {
        _next = start;
        _consumer = consumer;
        _key = key;
        _value = value;
        _offsets = new long[capacity];
        _items = new object[capacity];
        _partition = partition;
        _adapter = adapter;
        _topicId = topicId;
        _logger = logger;
        _thread = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Messages decoded and not yet taken.</summary>
    public int Buffered
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// The life of the topic that messages decoded from now on are stamped with: named by the receiver when the topic's
    /// id becomes known after the consumer started (a life read unnamed until then, not a new one).
    /// </summary>
    public string TopicId
    {
        get => Volatile.Read(ref _topicId);
        set => Volatile.Write(ref _topicId, value);
    }

    /// <summary>
    /// Set once the consumer gave a message below the offset expected next: the offset expected and the one found. The
    /// thread has stopped; what it buffered before is still to take.
    /// </summary>
    public (long Expected, long Found)? WentBack
    {
        get
        {
            lock (_lock)
            {
                return _wentBack;
            }
        }
    }

    /// <summary>
    /// Takes up to <paramref name="maxCount"/> buffered messages, in offset order. With none buffered, waits until
    /// one arrives, <see cref="Wake"/> is called, <paramref name="wait"/> has passed or <paramref name="cancellationToken"/>
    /// is cancelled; null then.
    /// </summary>
    public async Task<FetchedBatch?> TakeAsync(int maxCount, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (Take(maxCount) is { } taken)
        {
            return taken;
        }

        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (_woken)
            {
                // Woken since the last take: the agent has finished work to collect first.
                _woken = false;
                return null;
            }

            waiter = _count == 0
                ? _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
                : CompletedWaiter;
        }

        try
        {
            await waiter.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            lock (_lock)
            {
                if (ReferenceEquals(_waiter, waiter))
                {
                    _waiter = null;
                }
            }
        }

        return Take(maxCount);
    }

    /// <summary>Ends a wait in <see cref="TakeAsync"/> early (the queue has finished work for the agent to collect).</summary>
    public void Wake()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            waiter = _waiter;
            _waiter = null;
            _woken = waiter is null;
        }

        waiter?.TrySetResult();
    }

    /// <summary>
    /// Stops the thread, keeping what it buffered for <see cref="TakeAsync"/>; the consumer is the caller's again once
    /// this completes.
    /// </summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        lock (_lock)
        {
            if (!_stopped)
            {
                _stopped = true;
                _space.Release();
            }
        }

        await _thread.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Stops the thread; the consumer is the caller's again once this completes.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
        _space.Dispose();
    }

    private static TaskCompletionSource CompletedWaiter { get; } = CreateCompleted();

    private static TaskCompletionSource CreateCompleted()
    {
        var completed = new TaskCompletionSource();
        completed.SetResult();
        return completed;
    }

    private FetchedBatch? Take(int maxCount)
    {
        FetchedBatch taken;
        bool release;
        lock (_lock)
        {
            if (_count == 0)
            {
                return null;
            }

            var count = Math.Min(maxCount, _count);
            var rejections = 0;
            for (var i = 0; i < count; i++)
            {
                if (_items[(_head + i) % _items.Length] is Rejection)
                {
                    rejections++;
                }
            }

            var offsets = new long[count - rejections];
            var events = new object[count - rejections];
            List<Rejection>? rejected = rejections > 0 ? new List<Rejection>(rejections) : null;
            var first = _offsets[_head];
            var last = first;
            for (int i = 0, e = 0; i < count; i++)
            {
                var at = (_head + i) % _items.Length;
                last = _offsets[at];
                if (_items[at] is Rejection rejection)
                {
                    rejected!.Add(rejection);
                }
                else
                {
                    offsets[e] = last;
                    events[e++] = _items[at];
                }

                _items[at] = null!;
            }

            _head = (_head + count) % _items.Length;
            _count -= count;
            taken = new FetchedBatch(first, last, count, offsets, events, rejected);
            // The agent collects finished work before every read: a wake is answered by this one.
            _woken = false;
            release = _full && _count < _items.Length;
            if (release)
            {
                _full = false;
            }
        }

        if (release)
        {
            _space.Release();
        }

        return taken;
    }

    private void Run()
    {
        var stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker>? result;
            try
            {
                result = _consumer.Consume(ConsumeSlice);
            }
            catch (ConsumeException e)
            {
                LogConsumeFailed(_logger, _partition.Topic, _partition.Partition.Value, e.Error.Code, e.Error.Reason);
                stop.WaitHandle.WaitOne(ErrorPause);
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            if (result.Offset.Value < _next)
            {
                TaskCompletionSource? woken;
                lock (_lock)
                {
                    _wentBack = (_next, result.Offset.Value);
                    woken = _waiter;
                    _waiter = null;
                }

                LogWentBack(_logger, _partition.Topic, _partition.Partition.Value, _next, result.Offset.Value);
                woken?.TrySetResult();
                return;
            }

            _next = result.Offset.Value + 1;
            var item = Decode(result);
            TaskCompletionSource? waiter;
            bool full;
            lock (_lock)
            {
                var at = (_head + _count) % _items.Length;
                _offsets[at] = result.Offset.Value;
                _items[at] = item;
                _count++;
                waiter = _waiter;
                _waiter = null;
                full = _full = _count == _items.Length;
            }

            waiter?.TrySetResult();
            if (full)
            {
                try
                {
                    _space.Wait(stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>The event the message decodes to, or its <see cref="Rejection"/>.</summary>
    private object Decode(ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker> result)
    {
        var message = new KafkaMessage(
            _partition.Topic, TopicId, _partition.Partition.Value, result.Offset.Value, _key.Span, _value.Span,
            !_key.IsNull, result.Message.Timestamp.UtcDateTime, result.Message.Headers);
        KafkaDecodeResult decoded;
        try
        {
            decoded = _adapter.Decode(message);
        }
        catch (Exception e)
        {
            decoded = KafkaDecodeResult.Reject($"the data adapter failed: {e.GetType().Name}: {e.Message}");
        }

        object item = decoded.IsSuccess
            ? decoded.Item!
            // The original is kept for its dead letter only.
            : new Rejection(decoded.Error!, new ConsumeResult<byte[]?, byte[]?>
            {
                TopicPartitionOffset = result.TopicPartitionOffset,
                Message = new Message<byte[]?, byte[]?>
                {
                    Key = _key.ToArray(),
                    Value = _value.ToArray(),
                    Headers = result.Message.Headers,
                    Timestamp = result.Message.Timestamp,
                },
            });
        _key.Trim();
        _value.Trim();
        return item;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}[{Partition}] went back: offset {Expected} was next, Kafka gave {Found} (the topic was deleted and created again, or its log cut short); reading it stops until its consumer starts over")]
    private static partial void LogWentBack(ILogger logger, string topic, int partition, long expected, long found);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading {Topic}[{Partition}] failed ({Code}: {Reason}); trying again")]
    private static partial void LogConsumeFailed(ILogger logger, string topic, int partition, ErrorCode code, string reason);
}

/// <summary>A message the data adapter rejected: why, and the message as it was (for its dead letter).</summary>
internal sealed record Rejection(string Reason, ConsumeResult<byte[]?, byte[]?> Original);

/// <summary>
/// What one take brought: <paramref name="Count"/> messages from <paramref name="FirstOffset"/> to <paramref name="LastOffset"/>,
/// the decoded ones as <paramref name="Offsets"/> and <paramref name="Events"/> (arrays of their exact size) and the rejected ones.
/// </summary>
internal sealed record FetchedBatch(long FirstOffset, long LastOffset, int Count, long[] Offsets, object[] Events, List<Rejection>? Rejected);
