using Hearth.Silo.Hosting;

namespace Hearth.Tests.Unit;

/// <summary>When the silo gives memory back: after a burst of allocation, once it has gone quiet.</summary>
public sealed class IdleMemoryTrimmerTests
{
    private const long MB = 1L << 20;

    [Theory]
    [InlineData(0, 900 * MB, 900 * MB, 600 * MB, true)]   // a burst (900 MB since the last trim), then nothing for a quiet period
    [InlineData(0, 890 * MB, 900 * MB, 600 * MB, true)]   // quiet: 10 MB over the period
    [InlineData(0, 800 * MB, 900 * MB, 600 * MB, false)]  // still busy: 100 MB over the period
    [InlineData(800 * MB, 900 * MB, 900 * MB, 600 * MB, false)]  // trimmed since, and too little allocated after it
    [InlineData(0, 100 * MB, 100 * MB, 600 * MB, false)]  // never a burst
    [InlineData(0, 900 * MB, 900 * MB, 20 * MB, false)]   // a burst whose heap kept little beyond what lives
    public void TrimsOnlyWhenQuietAfterABurst_WithMemoryToGiveBack(long atLastTrim, long quietPeriodAgo, long now, long reclaimable, bool trims) =>
        Assert.Equal(trims, IdleMemoryTrimmer.ShouldTrim(atLastTrim, quietPeriodAgo, now, reclaimable));
}
