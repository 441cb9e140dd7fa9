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
/// </remarks>
internal sealed partial class KafkaPartitionFetcher : IAsyncDisposable
{
    /// <summary>How long one consume call blocks before the thread looks at its stop signal again.</summary>
    private static readonly TimeSpan ConsumeSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the thread waits after a consume error before it tries again.</summary>
    private static readonly TimeSpan ErrorPause = TimeSpan.FromMilliseconds(500);

    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly TopicPartition _partition;
    private readonly IKafkaDataAdapter _adapter;
    private readonly string _topicId;
    private readonly int _capacity;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Queue<FetchedMessage> _buffer = new();
    private readonly SemaphoreSlim _space = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _thread;
    private TaskCompletionSource? _waiter;
    private bool _woken;
    private bool _full;

    public KafkaPartitionFetcher(
        IConsumer<byte[]?, byte[]?> consumer, TopicPartition partition, IKafkaDataAdapter adapter, string topicId, int capacity, ILogger logger)
    {
        _consumer = consumer;
        _partition = partition;
        _adapter = adapter;
        _topicId = topicId;
        _capacity = capacity;
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
                return _buffer.Count;
            }
        }
    }

    /// <summary>
    /// Takes up to <paramref name="maxCount"/> buffered messages, in offset order. With none buffered, waits until
    /// one arrives, <see cref="Wake"/> is called, <paramref name="wait"/> has passed or <paramref name="cancellationToken"/>
    /// is cancelled; an empty list then.
    /// </summary>
    public async Task<List<FetchedMessage>> TakeAsync(int maxCount, TimeSpan wait, CancellationToken cancellationToken)
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
                return [];
            }

            waiter = _buffer.Count == 0
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

        return Take(maxCount) ?? [];
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

    /// <summary>Stops the thread; the consumer is the caller's again once this completes.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _space.Release();
        await _thread.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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

    private List<FetchedMessage>? Take(int maxCount)
    {
        List<FetchedMessage> taken;
        bool release;
        lock (_lock)
        {
            if (_buffer.Count == 0)
            {
                return null;
            }

            taken = new List<FetchedMessage>(Math.Min(maxCount, _buffer.Count));
            while (taken.Count < maxCount && _buffer.TryDequeue(out var message))
            {
                taken.Add(message);
            }

            // The agent collects finished work before every read: a wake is answered by this one.
            _woken = false;
            release = _full && _buffer.Count < _capacity;
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
            ConsumeResult<byte[]?, byte[]?>? result;
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

            var fetched = Decode(result);
            TaskCompletionSource? waiter;
            bool full;
            lock (_lock)
            {
                _buffer.Enqueue(fetched);
                waiter = _waiter;
                _waiter = null;
                full = _full = _buffer.Count >= _capacity;
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

    private FetchedMessage Decode(ConsumeResult<byte[]?, byte[]?> result)
    {
        var message = new KafkaMessage(
            _partition.Topic, _topicId, _partition.Partition.Value, result.Offset.Value, result.Message.Key, result.Message.Value,
            result.Message.Key is not null, result.Message.Timestamp.UtcDateTime, result.Message.Headers);
        KafkaDecodeResult decoded;
        try
        {
            decoded = _adapter.Decode(message);
        }
        catch (Exception e)
        {
            decoded = KafkaDecodeResult.Reject($"the data adapter failed: {e.GetType().Name}: {e.Message}");
        }

        return decoded.IsSuccess
            ? new FetchedMessage(result.Offset.Value, decoded.Item, null, null)
            // The original is kept for its dead letter only.
            : new FetchedMessage(result.Offset.Value, null, decoded.Error, result);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading {Topic}[{Partition}] failed ({Code}: {Reason}); trying again")]
    private static partial void LogConsumeFailed(ILogger logger, string topic, int partition, ErrorCode code, string reason);
}

/// <summary>One message as the fetcher read it: its event, or why it was rejected (with the original, for its dead letter).</summary>
internal readonly record struct FetchedMessage(long Offset, object? Item, string? Rejection, ConsumeResult<byte[]?, byte[]?>? Original);
