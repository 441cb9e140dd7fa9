using Hearth.Streaming.Kafka.Providers;
using Orleans.Streams;

namespace Hearth.Tests.Unit;

/// <summary>How the default queue balancer shares Kafka partitions out: evenly, the same on every silo, moving few on a change.</summary>
public sealed class EvenQueueBalancerTests
{
    private static List<QueueId> Queues(int partitions) =>
        [.. new KafkaQueueMapper([("readings", partitions), ("settings", partitions)], ns => ns).GetAllQueues()];

    private static List<(string Name, uint Hash)> Silos(int count, int generation = 1) =>
        [.. Enumerable.Range(0, count).Select(i => ($"10.0.0.{i}:11111@{generation}", (uint)HashCode.Combine(i, generation)))];

    [Theory]
    [InlineData(1, 1)]
    [InlineData(6, 4)]
    [InlineData(6, 5)]
    [InlineData(16, 3)]
    [InlineData(2, 7)]
    public void EverySilo_PullsItsShare_AndEveryQueueIsPulledOnce(int partitions, int silos)
    {
        var queues = Queues(partitions);

        var assignment = EvenQueueBalancer.Assign(queues, Silos(silos));

        Assert.Equal(queues.Order(), assignment.Keys.Order());
        var loads = Silos(silos).Select(s => assignment.Values.Count(v => v == s.Name)).ToList();
        Assert.All(loads, l => Assert.InRange(l, queues.Count / silos, (queues.Count + silos - 1) / silos));
    }

    [Fact]
    public void EverySilo_ComputesTheSameAssignment_WhateverOrderItSeesTheMembersIn()
    {
        var queues = Queues(6);
        var silos = Silos(4);

        var one = EvenQueueBalancer.Assign(queues, silos);
        var other = EvenQueueBalancer.Assign(queues, [.. Enumerable.Reverse(silos)]);

        Assert.Equal(one.OrderBy(p => p.Key).ToList(), other.OrderBy(p => p.Key).ToList());
    }

    [Fact]
    public void NoSilo_NoQueues()
    {
        Assert.Empty(EvenQueueBalancer.Assign(Queues(3), []));
    }

    [Theory]
    [InlineData(6, 3)]
    [InlineData(6, 4)]
    [InlineData(12, 2)]
    [InlineData(16, 5)]
    public void AJoiningSilo_TakesItsShare_AndFewOthersMove(int partitions, int before)
    {
        var queues = Queues(partitions);
        var moved = 0;
        var needed = 0;
        for (var generation = 1; generation <= 50; generation++)
        {
            var old = EvenQueueBalancer.Assign(queues, Silos(before, generation));
            var silos = Silos(before + 1, generation);
            var now = EvenQueueBalancer.Assign(queues, silos);
            var joined = silos[^1].Name;

            Assert.InRange(now.Values.Count(v => v == joined), queues.Count / silos.Count, (queues.Count + silos.Count - 1) / silos.Count);
            needed += now.Values.Count(v => v == joined);
            moved += queues.Count(q => old[q] != now[q]);
        }

        // Each queue that moves pauses its partition for a handoff. The joiner's share must move; a silo that gave
        // the joiner a queue may take another's, but on average well under twice the share moves (sharing out by
        // position, queue i to silo i mod N, would move most queues).
        Assert.InRange(moved, needed, (needed * 2) - 1);
    }
}
