namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// Which messages of one partition are finished (delivered to every consumer, or dead-lettered) and so how
/// far the partition's checkpoint may advance: to the first offset of the oldest read that is not finished
/// yet, or past everything read when all are. Messages finish in any order; the checkpoint only ever
/// covers a finished prefix.
/// </summary>
/// <remarks>
/// Reads are tracked as blocks (one per <c>GetQueueMessagesAsync</c>), each counting its unfinished parts
/// (batch containers and dead letters). Parts may finish on other threads (dead letters finish on
/// librdkafka's delivery thread); <see cref="Advance"/> runs on the pulling agent's turn.
/// </remarks>
internal sealed class PartitionProgress
{
    private readonly Queue<ReadBlock> _blocks = new();
    private long _next = -1;

    /// <summary>The offset after the last message read, or -1 before the first.</summary>
    public long NextOffset => _next;

    /// <summary>The furthest offset the checkpoint may cover now, or -1 while nothing was read.</summary>
    public long Committable { get; private set; } = -1;

    /// <summary>Reads not finished yet (the front ones are dropped by <see cref="Advance"/>).</summary>
    public int OpenBlocks => _blocks.Count;

    /// <summary>Starts tracking a read whose first message is at <paramref name="firstOffset"/>.</summary>
    public ReadBlock Open(long firstOffset)
    {
        var block = new ReadBlock(firstOffset);
        _blocks.Enqueue(block);
        return block;
    }

    /// <summary>Records that every message before <paramref name="next"/> has been read.</summary>
    public void ReadUpTo(long next) => _next = Math.Max(_next, next);

    /// <summary>Drops finished blocks from the front and returns the new committable offset.</summary>
    public long Advance()
    {
        while (_blocks.TryPeek(out var block) && block.IsFinished)
        {
            _blocks.Dequeue();
        }

        Committable = _blocks.TryPeek(out var oldest) ? oldest.FirstOffset : _next;
        return Committable;
    }
}

/// <summary>The messages one read brought, finished when all its parts are.</summary>
internal sealed class ReadBlock(long firstOffset)
{
    // Starts at one: the read itself is a part, finished by Seal once every part has been added.
    private int _open = 1;

    public long FirstOffset { get; } = firstOffset;

    public bool IsFinished => Volatile.Read(ref _open) == 0;

    public void AddPart() => Interlocked.Increment(ref _open);

    public void FinishPart()
    {
        if (Interlocked.Decrement(ref _open) < 0)
        {
            throw new InvalidOperationException("A part of a read was finished twice.");
        }
    }

    /// <summary>No more parts will be added.</summary>
    public void Seal() => FinishPart();
}

/// <summary>What the receiver keeps about a batch it handed to the cache, until the batch is finished.</summary>
internal sealed class PendingBatch(ReadBlock block)
{
    private int _finished;

    public ReadBlock Block { get; } = block;

    /// <summary>Set when a consumer's delivery of the batch failed for good: it is dead-lettered, not acknowledged.</summary>
    public bool DeliveryFailed { get; set; }

    /// <summary>Finishes the batch's part of its read, once.</summary>
    public void Finish()
    {
        if (Interlocked.Exchange(ref _finished, 1) == 0)
        {
            Block.FinishPart();
        }
    }
}
