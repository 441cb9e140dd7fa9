using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Confluent.Kafka;
using Hearth.Runtime.Activation;
using Hearth.Runtime.Diagnostics;
using Hearth.Runtime.Kafka;
using Hearth.Runtime.Partitioning;
using Hearth.Runtime.Storage;
using GrainActivation = Hearth.Runtime.Activation.Activation;

namespace Hearth.Runtime.Processing;

/// <summary>
/// Runs one owned partition: its queue of input messages (from every input topic's partition of that
/// number), the activations of its keys, and its progress. Everything happens in turns, one at a time,
/// in queue order: messages, snapshots for checkpoints, maintenance. That is what makes a grain
/// single-threaded and a snapshot consistent with the offsets it records.
/// </summary>
internal sealed class PartitionWorker
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
    private static readonly TimeSpan MaxStorageRetryDelay = TimeSpan.FromSeconds(5);

    private readonly Channel<WorkItem> _queue = Channel.CreateUnbounded<WorkItem>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly Dictionary<string, GrainActivation> _activations = new(StringComparer.Ordinal);
    private readonly List<GrainActivation> _dirty = [];
    // The next offset to process per input topic (-1 until known). Written only in turns, read from other
    // threads for lag; the set of topics never changes after construction.
    private readonly Dictionary<string, StrongBox<long>> _nextOffsets = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Topic, string SourceTopic, int SourcePartition), long> _forwardMarks = [];
    private readonly Dictionary<string, TopicCounters> _counters = new(StringComparer.Ordinal);
    private readonly Lock _pauseLock = new();
    private readonly List<(ConsumerLoop Source, TopicPartition Partition)> _paused = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ManualResetEventSlim _room = new(initialState: true);
    private readonly int _pauseAt;
    private readonly int _resumeAt;
    private int _queued;
    private int _pausedCount;
    private long _progress;
    private long _savedProgress;
    private Task? _run;
    private ConsumeResult<byte[]?, byte[]?>? _current;

    public PartitionWorker(PartitionClaim claim, WorkerServices services)
    {
        Partition = claim.Partition;
        Epoch = claim.Epoch;
        Services = services;
        Registration = services.Registry.StreamGrain
            ?? throw new InvalidOperationException("No stream grain is registered.");
        _pauseAt = services.Grains.MaxQueuedMessagesPerPartition;
        _resumeAt = _pauseAt / 2;
        foreach (var topic in services.Topics.InputTopics)
        {
            _nextOffsets[topic] = new StrongBox<long>(claim.Offsets.TryGetValue(topic, out var stored) ? stored : -1);
        }

        foreach (var mark in claim.ForwardMarks)
        {
            _forwardMarks[(mark.Topic, mark.SourceTopic, mark.SourcePartition)] = mark.SourceOffset;
        }
    }

    public int Partition { get; }

    /// <summary>The lease epoch this worker writes under.</summary>
    public long Epoch { get; }

    public WorkerServices Services { get; }

    public StreamGrainRegistration Registration { get; }

    /// <summary>Whether the worker has stopped taking messages.</summary>
    public bool IsStopping => _stopping.IsCancellationRequested;

    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>
    /// Queues a message; called on <paramref name="source"/>'s thread. When the queue is full, waits up to
    /// <c>Grains:PauseAfter</c> for room, then pauses the message's partition on that consumer. (Waiting
    /// first matters: a pause makes librdkafka discard what it has prefetched for the partition, which it
    /// then fetches again; a partition that merely runs behind should not pay that.) False once the
    /// worker is stopping: the message is dropped unprocessed and its offset is not acknowledged.
    /// </summary>
    public bool TryEnqueue(ConsumeResult<byte[]?, byte[]?> result, ConsumerLoop source)
    {
        if (Volatile.Read(ref _queued) >= _pauseAt && !IsStopping)
        {
            _room.Reset();
            // The worker may have made room between the check and the reset; then it will not signal again.
            if (Volatile.Read(ref _queued) >= _pauseAt && !_room.Wait(Services.Grains.PauseAfter))
            {
                Pause(result.TopicPartition, source);
            }
        }

        if (!_queue.Writer.TryWrite(new WorkItem(result, null)))
        {
            return false;
        }

        Services.Metrics.QueuedChanged(1);
        Interlocked.Increment(ref _queued);
        return true;
    }

    /// <summary>
    /// Calls a grain of this partition in a turn of its own, after the messages queued before it. A grain
    /// with neither an activation nor stored state is not created: the result says it was not found. Once the
    /// partition is stopping, the result says it is not owned here.
    /// </summary>
    public Task<GrainCallResult<T>> CallAsync<TGrainInterface, T>(string key, Func<TGrainInterface, Task<T>> call)
        where TGrainInterface : class =>
        RunInTurnAsync(async () =>
        {
            var activation = await GetOrActivateAsync(key, Encoding.UTF8.GetBytes(key), onlyIfKnown: true).ConfigureAwait(false);
            if (activation is null)
            {
                return GrainCallResult<T>.NotFound(Partition);
            }

            if (activation.Grain is not TGrainInterface grain)
            {
                throw new InvalidOperationException($"Grain type '{Registration.GrainType}' does not implement {typeof(TGrainInterface).Name}.");
            }

            var value = await call(grain).ConfigureAwait(false);
            activation.LastUsed = Services.Time.GetTimestamp();
            return GrainCallResult<T>.Found(value, Partition);
        }, whenStopped: GrainCallResult<T>.NotOwnedHere(Partition));

    /// <summary>The next offset to process of <paramref name="topic"/>'s partition, as of the last turn (-1 when unknown).</summary>
    public long NextOffset(string topic) => _nextOffsets.TryGetValue(topic, out var box) ? Volatile.Read(ref box.Value) : -1;

    /// <summary>
    /// Takes a snapshot for a checkpoint, in turn with the messages; null once the partition is stopping (its
    /// release writes the last snapshot).
    /// </summary>
    public Task<PartitionSnapshot?> SnapshotAsync() =>
        RunInTurnAsync<PartitionSnapshot?>(() => ValueTask.FromResult<PartitionSnapshot?>(TakeSnapshot()), whenStopped: null);

    /// <summary>
    /// Takes a snapshot directly. Only in a turn or after <see cref="StopAsync"/> has completed.
    /// </summary>
    public PartitionSnapshot TakeSnapshot()
    {
        var writes = new List<PartitionSnapshot.ActivationWrite>();
        foreach (var activation in _dirty)
        {
            if (activation.IsDirty)
            {
                var json = Registration.SerializeState(activation.Value);
                writes.Add(new PartitionSnapshot.ActivationWrite(
                    activation,
                    new GrainStateWrite(Registration.GrainType, activation.Key, json, activation.StoredVersion + 1),
                    activation.Changes));
            }
        }

        var marks = _forwardMarks
            .Select(m => new ForwardMark(m.Key.Topic, Partition, m.Key.SourceTopic, m.Key.SourcePartition, m.Value))
            .ToList();
        var checkpoint = new PartitionCheckpoint(
            Partition, Epoch, writes.Select(w => w.Write).ToList(),
            _nextOffsets.Where(o => o.Value.Value >= 0).ToDictionary(o => o.Key, o => o.Value.Value, StringComparer.Ordinal), marks);
        return new PartitionSnapshot(this, checkpoint, writes, _progress, _progress != Volatile.Read(ref _savedProgress));
    }

    /// <summary>
    /// Housekeeping after a checkpoint, in turn: forgets activations whose changes are now stored, and
    /// deactivates and drops activations idle for longer than <c>Grains:IdleTimeout</c> once their state is stored.
    /// Returns how many were dropped; nothing is done once the partition is stopping (its release deactivates all).
    /// </summary>
    public Task<int> MaintainAsync() => RunInTurnAsync(CollectIdleAsync, whenStopped: 0);

    /// <summary>Stops taking messages, lets the current turn finish and drops what is still queued.</summary>
    public async Task StopAsync()
    {
        _stopping.Cancel();
        _room.Set();
        _queue.Writer.TryComplete();
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }
    }

    /// <summary>Calls every activation's <see cref="Grain.OnDeactivateAsync"/>. Only after <see cref="StopAsync"/>.</summary>
    public async Task DeactivateAllAsync(DeactivationReason reason)
    {
        foreach (var activation in _activations.Values)
        {
            await DeactivateAsync(activation, reason).ConfigureAwait(false);
        }
    }

    /// <summary>Drops every activation from memory. Only after <see cref="StopAsync"/>.</summary>
    public void DropActivations()
    {
        Services.Metrics.ActivationsRemoved(_activations.Count);
        _activations.Clear();
        _dirty.Clear();
    }

    internal void OnDirty(GrainActivation activation) => _dirty.Add(activation);

    internal void OnSnapshotStored(long progress) => Volatile.Write(ref _savedProgress, progress);

    /// <summary>Publishes a grain's output; called in a turn.</summary>
    internal void Publish(string topic, byte[] key, byte[] value)
    {
        Services.Producer.Send(topic, new Message<byte[]?, byte[]?> { Key = key, Value = value });
        Counters(topic).OnPublished();
        if (_current is { } source)
        {
            var latency = Services.Time.GetUtcNow() - source.Message.Timestamp.UtcDateTime;
            Services.Metrics.OutputLatency(latency.TotalMilliseconds, new KeyValuePair<string, object?>("topic", topic));
        }
    }

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    if (item.Operation is { } operation)
                    {
                        await operation.RunAsync(_stopping.Token).ConfigureAwait(false);
                        continue;
                    }

                    OnDequeued();
                    if (!IsStopping)
                    {
                        await ProcessAsync(item.Message!).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception e)
        {
            // A turn must never fail; if one does, this partition cannot make progress.
            Log.PartitionWorkerFailed(Services.Logger, Partition, e);
            throw;
        }
    }

    private void Pause(TopicPartition partition, ConsumerLoop source)
    {
        lock (_pauseLock)
        {
            if (!_paused.Contains((source, partition)))
            {
                _paused.Add((source, partition));
                Volatile.Write(ref _pausedCount, _paused.Count);
                source.PauseNow(partition);
                Services.Metrics.PartitionPaused();
                // The queue may have drained while we were pausing; then nobody would resume it.
                if (Volatile.Read(ref _queued) <= _resumeAt)
                {
                    ResumePausedLocked();
                }
            }
        }
    }

    private void OnDequeued()
    {
        Services.Metrics.QueuedChanged(-1);
        if (Interlocked.Decrement(ref _queued) <= _resumeAt)
        {
            _room.Set();
            if (Volatile.Read(ref _pausedCount) > 0)
            {
                lock (_pauseLock)
                {
                    ResumePausedLocked();
                }
            }
        }
    }

    private void ResumePausedLocked()
    {
        foreach (var (source, partition) in _paused)
        {
            source.RequestResume(partition);
        }

        _paused.Clear();
        Volatile.Write(ref _pausedCount, 0);
    }

    private async ValueTask ProcessAsync(ConsumeResult<byte[]?, byte[]?> result)
    {
        var topic = result.Topic;
        var offset = result.Offset.Value;
        var next = _nextOffsets[topic];
        if (offset < next.Value)
        {
            return; // Delivered again after a seek: already applied.
        }

        var counters = Counters(topic);
        counters.OnReceived();
        var message = result.Message;
        if (message.Key is not { Length: > 0 } key)
        {
            DeadLetter(result, "message has no key (the key is the grain key)");
        }
        else if (KafkaPartitioner.Partition(key, Services.Layout.PartitionCount) is var target && target != Partition)
        {
            Forward(result, target);
            counters.OnForwarded();
        }
        else if (ForwardOrigin(topic, message.Headers) is var (markKey, sourceOffset) &&
                 _forwardMarks.TryGetValue(markKey, out var mark) && sourceOffset <= mark)
        {
            counters.OnDuplicate();
        }
        else
        {
            try
            {
                await DeliverAsync(result, key, counters).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (IsStopping)
            {
                return; // Not applied: the offset stays where it was.
            }

            if (markKey.Topic is not null)
            {
                _forwardMarks[markKey] = sourceOffset;
            }
        }

        Volatile.Write(ref next.Value, offset + 1);
        _progress++;
    }

    private async ValueTask DeliverAsync(ConsumeResult<byte[]?, byte[]?> result, byte[] key, TopicCounters counters)
    {
        var message = result.Message;
        var timestamp = message.Timestamp.UtcDateTime;
        if (!Registration.TryDecode(key, message.Value, timestamp, out var item, out var error))
        {
            DeadLetter(result, error ?? "message could not be decoded");
            return;
        }

        string grainKey;
        try
        {
            grainKey = StrictUtf8.GetString(key);
        }
        catch (DecoderFallbackException)
        {
            DeadLetter(result, "key is not valid UTF-8");
            return;
        }

        if (GrainKeys.Problem(grainKey) is { } problem)
        {
            DeadLetter(result, $"key cannot be a grain key: {problem}");
            return;
        }

        GrainActivation activation;
        try
        {
            activation = (await GetOrActivateAsync(grainKey, key).ConfigureAwait(false))!;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ActivationFailed(Services.Logger, Registration.GrainType, grainKey, e);
            DeadLetter(result, $"grain '{Registration.GrainType}/{grainKey}' could not be activated: {e.Message}");
            return;
        }

        _current = result;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var position = new StreamPosition(result.Topic, result.Partition.Value, result.Offset.Value, timestamp);
            await Registration.DeliverAsync(activation.Grain!, item!, position).ConfigureAwait(false);
            counters.OnProcessed();
            Services.Metrics.TurnCompleted(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e)
        {
            Log.GrainFailed(Services.Logger, Registration.GrainType, grainKey, result.TopicPartitionOffset.ToString(), e);
            DeadLetter(result, $"grain '{Registration.GrainType}/{grainKey}' failed: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            _current = null;
        }

        activation.LastUsed = Services.Time.GetTimestamp();
    }

    /// <param name="onlyIfKnown">Return null instead of creating a grain that has neither an activation nor stored state.</param>
    private async ValueTask<GrainActivation?> GetOrActivateAsync(string key, byte[] keyBytes, bool onlyIfKnown = false)
    {
        if (!_activations.TryGetValue(key, out var activation))
        {
            var stored = await ReadStateAsync(key).ConfigureAwait(false);
            if (stored is null && onlyIfKnown)
            {
                return null;
            }

            var state = stored is null ? Registration.CreateState() : Registration.DeserializeState(stored.Json);
            activation = new GrainActivation(this, key, keyBytes, state, stored?.Version ?? 0);
            _activations.Add(key, activation);
            Services.Metrics.ActivationCreated();
        }

        if (activation.Grain is null)
        {
            var grain = Registration.CreateGrain(Services.Services, activation);
            await grain.OnActivateAsync(_stopping.Token).ConfigureAwait(false);
            activation.Grain = grain;
        }

        return activation;
    }

    /// <summary>Reads a grain's state, retrying while storage is unreachable: the partition cannot go on without it.</summary>
    private async ValueTask<StoredGrainState?> ReadStateAsync(string key)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Services.Store.ReadGrainStateAsync(Registration.GrainType, key, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.StateReadFailed(Services.Logger, Registration.GrainType, key, attempt, delay, e);
                await Task.Delay(delay, Services.Time, _stopping.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxStorageRetryDelay.Ticks));
            }
        }
    }

    private async ValueTask<int> CollectIdleAsync()
    {
        _dirty.RemoveAll(static a =>
        {
            if (a.IsDirty)
            {
                return false;
            }

            a.InDirtyList = false;
            return true;
        });

        var now = Services.Time.GetTimestamp();
        List<GrainActivation>? idle = null;
        foreach (var activation in _activations.Values)
        {
            if (Services.Time.GetElapsedTime(activation.LastUsed, now) < Services.Grains.IdleTimeout)
            {
                continue;
            }

            await DeactivateAsync(activation, new DeactivationReason(DeactivationReasonCode.IdleTimeout,
                $"idle for {Services.Grains.IdleTimeout}")).ConfigureAwait(false);
            if (!activation.IsDirty)
            {
                (idle ??= []).Add(activation);
            }
        }

        if (idle is null)
        {
            return 0;
        }

        foreach (var activation in idle)
        {
            _activations.Remove(activation.Key);
        }

        Services.Metrics.ActivationsRemoved(idle.Count);
        return idle.Count;
    }

    private async ValueTask DeactivateAsync(GrainActivation activation, DeactivationReason reason)
    {
        if (activation.Grain is not { } grain)
        {
            return;
        }

        activation.Grain = null;
        try
        {
            await grain.OnDeactivateAsync(reason, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.DeactivationFailed(Services.Logger, Registration.GrainType, activation.Key, e);
        }
    }

    private ((string Topic, string SourceTopic, int SourcePartition) Key, long Offset) ForwardOrigin(string topic, Headers? headers) =>
        MessageHeaders.TryParseOrigin(MessageHeaders.GetText(headers, MessageHeaders.ForwardedFrom),
            out var sourceTopic, out var sourcePartition, out var sourceOffset)
            ? ((topic, sourceTopic, sourcePartition), sourceOffset)
            : default;

    private void Forward(ConsumeResult<byte[]?, byte[]?> result, int target)
    {
        var copy = CopyOf(result.Message);
        if (MessageHeaders.GetText(copy.Headers, MessageHeaders.ForwardedFrom) is null)
        {
            MessageHeaders.AddText(copy.Headers, MessageHeaders.ForwardedFrom,
                MessageHeaders.FormatOrigin(result.Topic, result.Partition.Value, result.Offset.Value));
        }

        Services.Producer.Send(new TopicPartition(result.Topic, target), copy);
    }

    private void DeadLetter(ConsumeResult<byte[]?, byte[]?> result, string reason)
    {
        var copy = CopyOf(result.Message);
        MessageHeaders.AddText(copy.Headers, MessageHeaders.Error, reason.Length > 1000 ? reason[..1000] : reason);
        MessageHeaders.AddText(copy.Headers, MessageHeaders.SourceTopic, result.Topic);
        MessageHeaders.AddText(copy.Headers, MessageHeaders.SourcePartition, result.Partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        MessageHeaders.AddText(copy.Headers, MessageHeaders.SourceOffset, result.Offset.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Services.Producer.Send(Services.Topics.DeadLetter, copy);
        Services.Metrics.DeadLettered(Counters(result.Topic), reason);
        Log.DeadLettered(Services.Logger, result.TopicPartitionOffset.ToString(), reason);
    }

    /// <summary>The message as it is sent on (forwarded or dead-lettered): same key, value and timestamp, its own copy of the headers.</summary>
    private static Message<byte[]?, byte[]?> CopyOf(Message<byte[]?, byte[]?> message)
    {
        var headers = new Headers();
        if (message.Headers is not null)
        {
            foreach (var header in message.Headers)
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        return new Message<byte[]?, byte[]?> { Key = message.Key, Value = message.Value, Headers = headers, Timestamp = message.Timestamp };
    }

    private TopicCounters Counters(string topic)
    {
        if (!_counters.TryGetValue(topic, out var counters))
        {
            counters = Services.Metrics.ForTopic(topic);
            _counters[topic] = counters;
        }

        return counters;
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a turn of its own. Once the partition is stopping, the body does not run
    /// (or its cancellation is not an error) and the result is <paramref name="whenStopped"/>.
    /// </summary>
    private Task<T> RunInTurnAsync<T>(Func<ValueTask<T>> body, T whenStopped)
    {
        var operation = new TurnOperation<T>(body, whenStopped);
        if (!_queue.Writer.TryWrite(new WorkItem(null, operation)))
        {
            operation.Stopped();
        }

        return operation.Completion;
    }

    private readonly record struct WorkItem(ConsumeResult<byte[]?, byte[]?>? Message, TurnOperation? Operation);

    private abstract class TurnOperation
    {
        public abstract ValueTask RunAsync(CancellationToken stopping);
    }

    private sealed class TurnOperation<T>(Func<ValueTask<T>> body, T whenStopped) : TurnOperation
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Completion => _done.Task;

        public void Stopped() => _done.TrySetResult(whenStopped);

        public override async ValueTask RunAsync(CancellationToken stopping)
        {
            if (stopping.IsCancellationRequested)
            {
                Stopped();
                return;
            }

            try
            {
                _done.TrySetResult(await body().ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Stopped();
            }
            catch (Exception e)
            {
                _done.TrySetException(e);
            }
        }
    }
}
