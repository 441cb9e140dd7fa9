using System.Collections.Concurrent;
using Confluent.Kafka;
using Hearth.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hearth.Runtime.Kafka;

/// <summary>Receives the messages a consumer loop takes from Kafka.</summary>
internal interface IMessageDispatcher
{
    /// <summary>Called on the loop's thread for every message, in partition order.</summary>
    void Dispatch(ConsumeResult<byte[]?, byte[]?> result, ConsumerLoop source);
}

/// <summary>
/// Owns one Kafka consumer and the one thread that may touch it. Everything else that must act on the
/// consumer (pause, resume, assign, commit) is posted here and runs between two <c>Consume</c> calls,
/// so no message is ever between the consumer and its partition queue when the assignment changes.
/// </summary>
internal abstract class ConsumerLoop : IDisposable
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentQueue<(Action<IConsumer<byte[]?, byte[]?>> Action, TaskCompletionSource Done)> _operations = new();
    private readonly HashSet<TopicPartition> _paused = [];
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IMessageDispatcher _dispatcher;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private Thread? _thread;
    private volatile bool _stopRequested;

    protected ConsumerLoop(IMessageDispatcher dispatcher, ILogger logger)
    {
        _dispatcher = dispatcher;
        Logger = logger;
    }

    /// <summary>Completes when the loop has ended and the consumer is closed.</summary>
    public Task Completion => _completed.Task;

    /// <summary>The failure that ended the loop, if any.</summary>
    public Exception? Fault { get; private set; }

    protected ILogger Logger { get; }

    protected IConsumer<byte[]?, byte[]?> Consumer =>
        _consumer ?? throw new InvalidOperationException("The consumer loop has not started.");

    /// <summary>Whether the current thread is this loop's thread.</summary>
    public bool IsOnLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Builds the consumer and starts the loop thread.</summary>
    public void Start(string threadName)
    {
        _consumer = Build();
        _thread = new Thread(Run) { Name = threadName, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Asks the loop to end; <see cref="Completion"/> tells when it has.</summary>
    public void RequestStop() => _stopRequested = true;

    /// <summary>Runs <paramref name="action"/> on the loop thread (at once if already on it).</summary>
    public Task RunOnLoopAsync(Action<IConsumer<byte[]?, byte[]?>> action)
    {
        if (IsOnLoopThread)
        {
            action(Consumer);
            return Task.CompletedTask;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _operations.Enqueue((action, done));
        if (Completion.IsCompleted)
        {
            DrainOperations(runThem: false);
        }

        return done.Task;
    }

    /// <summary>
    /// The partition's high watermark as last seen in a fetch (no request is made), or -1 if unknown.
    /// Safe from any thread.
    /// </summary>
    public long HighWatermark(TopicPartition partition)
    {
        try
        {
            var high = _consumer?.GetWatermarkOffsets(partition).High ?? Offset.Unset;
            return high.IsSpecial ? -1 : high.Value;
        }
        catch (Exception e) when (e is KafkaException or ObjectDisposedException)
        {
            return -1;
        }
    }

    /// <summary>Stops fetching a partition. Only on the loop thread (from dispatch).</summary>
    public void PauseNow(TopicPartition partition)
    {
        if (_paused.Add(partition))
        {
            Consumer.Pause([partition]);
        }
    }

    /// <summary>Resumes fetching a partition, from any thread.</summary>
    public void RequestResume(TopicPartition partition) =>
        _ = RunOnLoopAsync(_ => ResumeNow([partition]));

    /// <summary>Resumes partitions paused by this loop. Only on the loop thread.</summary>
    protected void ResumeNow(IEnumerable<TopicPartition> partitions)
    {
        var paused = partitions.Where(_paused.Remove).ToList();
        if (paused.Count > 0)
        {
            try
            {
                Consumer.Resume(paused);
            }
            catch (KafkaException e)
            {
                // The partition was revoked meanwhile; a new assignment starts unpaused.
                Log.ResumeFailed(Logger, string.Join(",", paused), e.Error.Reason);
            }
        }
    }

    /// <summary>
    /// Records offsets in Kafka (the fallback to the offsets stored with grain state), for the partitions
    /// this consumer still holds when the commit runs: never for a partition already handed over.
    /// </summary>
    public Task CommitAsync(IReadOnlyList<TopicPartitionOffset> offsets) =>
        offsets.Count == 0 ? Task.CompletedTask : RunOnLoopAsync(c =>
        {
            var assigned = c.Assignment.ToHashSet();
            var held = offsets.Where(o => assigned.Contains(o.TopicPartition)).ToList();
            if (held.Count == 0)
            {
                return;
            }

            try
            {
                c.Commit(held);
            }
            catch (KafkaException e)
            {
                Log.KafkaCommitFailed(Logger, e.Error.Code, e.Error.Reason);
            }
        });

    /// <summary>Creates the consumer (subscribing or not).</summary>
    protected abstract IConsumer<byte[]?, byte[]?> Build();

    /// <summary>Called on the loop thread when the loop ends, before the consumer is closed.</summary>
    protected virtual void OnStopping()
    {
    }

    public void Dispose()
    {
        _consumer?.Dispose();
    }

    private void Run()
    {
        try
        {
            while (!_stopRequested)
            {
                DrainOperations(runThem: true);
                ConsumeResult<byte[]?, byte[]?>? result;
                try
                {
                    result = Consumer.Consume(PollTimeout);
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    Log.ConsumeError(Logger, e.Error.Code, e.Error.Reason);
                    continue;
                }

                if (result?.Message is not null)
                {
                    _dispatcher.Dispatch(result, this);
                }
            }

            DrainOperations(runThem: true);
            OnStopping();
            Consumer.Close();
        }
        catch (Exception e)
        {
            Fault = e;
            Log.ConsumerLoopFailed(Logger, Thread.CurrentThread.Name, e);
        }
        finally
        {
            _completed.TrySetResult();
            DrainOperations(runThem: false);
        }
    }

    private void DrainOperations(bool runThem)
    {
        while (_operations.TryDequeue(out var operation))
        {
            if (!runThem)
            {
                operation.Done.TrySetException(new InvalidOperationException("The consumer loop has ended."));
                continue;
            }

            try
            {
                operation.Action(Consumer);
                operation.Done.TrySetResult();
            }
            catch (Exception e)
            {
                operation.Done.TrySetException(e);
            }
        }
    }
}
