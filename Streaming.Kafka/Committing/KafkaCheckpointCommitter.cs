using System.Collections.Concurrent;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Hearth.Streaming.Kafka.Committing;

/// <summary>
/// Commits the checkpoints of every partition a silo pulls, as the consumer group's offsets: every commit interval,
/// those that moved, in one request, and only once <see cref="IKafkaCheckpointFence"/> has confirmed, within its
/// lease, that the silo still owns them. A commit that fails or is refused is made by a later round.
/// </summary>
/// <remarks>
/// <para>The fence is a check before a commit, not Kafka's: a silo that stalls between the check and the moment its
/// request leaves for the broker sends it when it wakes. So each round also reads what Kafka holds, and commits
/// again a checkpoint of its own that a lower offset has replaced: such a stale commit stands for one commit interval
/// at most. Putting right only raises an offset back to this silo's own last commit, never lowers another silo's.</para>
/// <para>The consumers that pull the partitions commit nothing themselves: librdkafka's automatic commit would commit a
/// woken silo's stale offsets before the silo learned it had been declared dead.</para>
/// </remarks>
internal sealed partial class KafkaCheckpointCommitter : IDisposable
{
    /// <summary>How long a round waits for the offsets Kafka holds.</summary>
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly IKafkaCheckpointFence _fence;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<PartitionCheckpoint, byte> _checkpoints = new();
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _starting = new();
    private Task? _loop;
    private string? _refused;
    private string? _failing;
    private int _disposed;

    /// <param name="consumer">A consumer of the group that is assigned nothing: it only commits.</param>
    public KafkaCheckpointCommitter(IConsumer<byte[]?, byte[]?> consumer, IKafkaCheckpointFence fence, TimeSpan interval, TimeProvider time, ILogger logger)
    {
        _consumer = consumer;
        _fence = fence;
        _interval = interval;
        _time = time;
        _logger = logger;
    }

    /// <summary>Starts keeping the checkpoint of a partition this silo starts pulling at <paramref name="committed"/>.</summary>
    public PartitionCheckpoint Register(TopicPartition partition, long committed)
    {
        var checkpoint = new PartitionCheckpoint(partition, committed);
        _checkpoints.TryAdd(checkpoint, 0);
        lock (_starting)
        {
            _loop ??= Task.Run(RunAsync);
        }

        return checkpoint;
    }

    /// <summary>Stops keeping a checkpoint (its partition is no longer pulled by this receiver).</summary>
    public void Unregister(PartitionCheckpoint checkpoint) => _checkpoints.TryRemove(checkpoint, out _);

    /// <summary>
    /// Stops keeping a checkpoint whose offsets no longer mean what they meant (its topic was deleted and created again),
    /// and completes once no round can commit it any more: one under way may have taken it, and ends first.
    /// </summary>
    public async Task ForgetAsync(PartitionCheckpoint checkpoint)
    {
        Unregister(checkpoint);
        await _round.WaitAsync().ConfigureAwait(false);
        _round.Release();
    }

    /// <summary>
    /// Commits every checkpoint that moved since it was last committed, if the fence allows; true when none is left
    /// uncommitted.
    /// </summary>
    public async Task<bool> CommitAsync(CancellationToken cancellationToken)
    {
        await _round.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var checkpoints = _checkpoints.Keys.ToList();
            if (checkpoints.Count == 0)
            {
                return true;
            }

            // What Kafka holds now: an offset below this silo's last commit was written over it by a silo declared dead
            // (a commit it had sent, but that had not left it, when it stalled lands when it wakes, past any check it
            // made before), and is put right by this round.
            var overwritten = await Task.Run(() => HeldByKafka(checkpoints), CancellationToken.None).ConfigureAwait(false);

            // A partition two receivers registered (one stopping as the next starts) commits the furthest.
            var due = checkpoints
                .Select(c => (Checkpoint: c, Offset: c.Stored,
                    WrittenOver: overwritten.TryGetValue(c.Partition, out var held) && WrittenOver(held, c.Committed) ? held : (long?)null))
                .Where(c => c.Offset > c.Checkpoint.Committed || c.WrittenOver is not null)
                .GroupBy(c => c.Checkpoint.Partition)
                .Select(g => g.MaxBy(c => c.Offset))
                .ToList();
            if (due.Count == 0)
            {
                return true;
            }

            var asked = _time.GetTimestamp();
            string? refusal;
            try
            {
                refusal = await _fence.RefusalAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                refusal = $"the silo's membership could not be confirmed ({e.Message})";
            }

            if (refusal is null)
            {
                refusal = await Task.Run(() =>
                {
                    // Checked as late as possible: a silo that stalled since it asked finds its lease expired.
                    if (_time.GetElapsedTime(asked) >= _fence.Lease)
                    {
                        return "confirming the silo's membership took longer than its lease";
                    }

                    _consumer.Commit(due.Select(d => new TopicPartitionOffset(d.Checkpoint.Partition, d.Offset)));
                    return null;
                }, CancellationToken.None).ConfigureAwait(false);
            }

            if (refusal is not null)
            {
                NoteRefused(refusal);
                return false;
            }

            foreach (var (checkpoint, offset, writtenOver) in due)
            {
                if (writtenOver is { } held)
                {
                    LogPutRight(_logger, checkpoint.Partition.Topic, checkpoint.Partition.Partition.Value, held, checkpoint.Committed, offset);
                }

                checkpoint.Committed = offset;
            }

            NoteCommitted();
            return true;
        }
        catch (KafkaException e)
        {
            NoteFailed(e.Error.Reason);
            return false;
        }
        finally
        {
            _round.Release();
        }
    }

    /// <summary>
    /// Whether Kafka's offset <paramref name="held"/> was written over this silo's <paramref name="committed"/>: it holds a
    /// lower one. Holding none is not that: a topic deleted and created again has no committed offsets, and the old
    /// topic's checkpoint (which its receiver is about to drop) must not be committed into the new one.
    /// </summary>
    private static bool WrittenOver(long held, long committed) => held >= 0 && held < committed;

    /// <summary>The offsets Kafka holds for the checkpoints' partitions; none when it cannot say (the round commits what moved).</summary>
    private Dictionary<TopicPartition, long> HeldByKafka(List<PartitionCheckpoint> checkpoints)
    {
        try
        {
            return _consumer.Committed(checkpoints.Select(c => c.Partition).Distinct(), ReadTimeout)
                .ToDictionary(c => c.TopicPartition, c => c.Offset.Value);
        }
        catch (KafkaException)
        {
            return [];
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // Stopped.
        }

        _consumer.Dispose();
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_interval, _time, _stop.Token).ConfigureAwait(false);
                await CommitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    // Each reason is logged when it starts and when it ends, not at every round.
    private void NoteRefused(string reason)
    {
        if (_refused != reason)
        {
            _refused = reason;
            LogRefused(_logger, reason);
        }
    }

    private void NoteFailed(string reason)
    {
        if (_failing is null)
        {
            LogCommitFailed(_logger, reason, (long)_interval.TotalMilliseconds);
        }

        _failing = reason;
    }

    private void NoteCommitted()
    {
        if (_refused is not null || _failing is not null)
        {
            _refused = null;
            _failing = null;
            LogCommitting(_logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka held offset {Held} for {Topic}[{Partition}], below this silo's commit {Committed} (a silo declared dead committed it late); committed {Offset} over it")]
    private static partial void LogPutRight(ILogger logger, string topic, int partition, long held, long committed, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkpoints are not committed: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing checkpoints failed ({Reason}); trying again every {IntervalMs} ms")]
    private static partial void LogCommitFailed(ILogger logger, string reason, long intervalMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkpoints are committed again")]
    private static partial void LogCommitting(ILogger logger);
}

/// <summary>
/// A partition's checkpoint as its receiver stores it (the offset every message before which is finished) and as it
/// was last committed.
/// </summary>
internal sealed class PartitionCheckpoint(TopicPartition partition, long committed)
{
    private long _stored = committed;
    private long _committed = committed;

    public TopicPartition Partition { get; } = partition;

    /// <summary>The furthest checkpoint stored; only ever moves forward.</summary>
    public long Stored => Volatile.Read(ref _stored);

    /// <summary>The checkpoint last committed by this silo.</summary>
    public long Committed
    {
        get => Volatile.Read(ref _committed);
        set => Volatile.Write(ref _committed, value);
    }

    /// <summary>Stores a new checkpoint (called by the partition's receiver alone).</summary>
    public void Store(long offset)
    {
        if (offset > Stored)
        {
            Volatile.Write(ref _stored, offset);
        }
    }
}
