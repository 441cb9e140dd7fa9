namespace Hearth.Silo.Hosting;

/// <summary>
/// Gives the memory a burst of work took back to the operating system once the silo goes quiet. A cold start that
/// activates many controllers, or a backlog after an outage, grows the heap (much of what was read and delivered lives
/// long enough to reach the oldest generation, and dies there); the garbage collector then keeps what it grew, since
/// it compacts that generation rarely and only when something allocates, so a silo that goes quiet would hold it for
/// good (measured: 16 KB resident per active controller after activating 100,000, 4 KB once compacted). When the
/// process has allocated at least <see cref="BurstBytes"/> since the last trim and less than <see cref="QuietBytes"/>
/// over the last <see cref="QuietPeriod"/>, and the heap holds at least <see cref="ReclaimableBytes"/> more than the
/// objects that survived the last collection, one aggressive, compacting collection returns what is free.
/// </summary>
/// <remarks>
/// The collection stops the silo for as long as it takes (a fraction of a second for a heap of a few hundred
/// megabytes), which is why it waits for a quiet spell; a busy silo collects as it goes and never needs it.
/// </remarks>
public sealed partial class IdleMemoryTrimmer(TimeProvider time, ILogger<IdleMemoryTrimmer> logger) : BackgroundService
{
    public const long BurstBytes = 256L << 20;

    public const long QuietBytes = 32L << 20;

    public const long ReclaimableBytes = 128L << 20;

    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The decision, on the bytes the process had allocated in all at the last trim, a quiet period ago, and now, and
    /// on the bytes the heap holds (committed) beyond those that survived the last collection.
    /// </summary>
    public static bool ShouldTrim(long atLastTrim, long quietPeriodAgo, long now, long reclaimable) =>
        now - atLastTrim >= BurstBytes && now - quietPeriodAgo < QuietBytes && reclaimable >= ReclaimableBytes;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var samples = new Queue<long>();
        var atLastTrim = GC.GetTotalAllocatedBytes();
        var window = (int)(QuietPeriod / CheckInterval);
        using var timer = new PeriodicTimer(CheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = GC.GetTotalAllocatedBytes();
                samples.Enqueue(now);
                if (samples.Count <= window)
                {
                    continue;
                }

                var heap = GC.GetGCMemoryInfo();
                var reclaimable = heap.TotalCommittedBytes - (heap.HeapSizeBytes - heap.FragmentedBytes);
                if (ShouldTrim(atLastTrim, samples.Dequeue(), now, reclaimable))
                {
                    Trim();
                    atLastTrim = GC.GetTotalAllocatedBytes();
                    samples.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The silo stops.
        }
    }

    private void Trim()
    {
        var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var started = time.GetTimestamp();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var after = GC.GetGCMemoryInfo().TotalCommittedBytes;
        LogTrimmed(logger, before >> 20, after >> 20, (long)time.GetElapsedTime(started).TotalMilliseconds);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Quiet after a burst of work: the heap was compacted, committed memory {Before} MB -> {After} MB ({Milliseconds} ms)")]
    private static partial void LogTrimmed(ILogger logger, long before, long after, long milliseconds);
}
