using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Tests.Unit;

/// <summary>The checkpoint of a partition: only ever a finished prefix, whatever order its parts finish in.</summary>
public sealed class PartitionProgressTests
{
    [Fact]
    public void TheCheckpoint_StaysAtTheOldestUnfinishedRead_AndJumpsWhenItFinishes()
    {
        var progress = new PartitionProgress();
        var first = Read(progress, 0, 10, parts: 2);
        var second = Read(progress, 10, 20, parts: 1);

        Assert.Equal(0, progress.Advance());

        second.FinishPart();
        first.FinishPart();
        Assert.Equal(0, progress.Advance());

        first.FinishPart();
        Assert.Equal(20, progress.Advance());
        Assert.Equal(0, progress.OpenBlocks);
    }

    [Fact]
    public void BeforeAnythingIsRead_ThereIsNoCheckpoint() => Assert.Equal(-1, new PartitionProgress().Advance());

    [Fact]
    public void APartFinishedTwice_IsABug()
    {
        var block = Read(new PartitionProgress(), 0, 1, parts: 0);

        Assert.Throws<InvalidOperationException>(block.FinishPart);
    }

    private static ReadBlock Read(PartitionProgress progress, long first, long next, int parts)
    {
        var block = progress.Open(first);
        for (var i = 0; i < parts; i++)
        {
            block.AddPart();
        }

        block.Seal();
        progress.ReadUpTo(next);
        return block;
    }
}
