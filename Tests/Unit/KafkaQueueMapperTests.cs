using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Tests.Unit;

/// <summary>Queues are partitions, named alike on every silo; partitions added to a topic are added as queues.</summary>
public sealed class KafkaQueueMapperTests
{
    private static readonly KafkaStreamOptions Options = new();

    [Fact]
    public void AQueue_DependsOnItsTopicAndPartitionAlone_WhateverPartitionCountASiloHasSeen()
    {
        var early = new KafkaQueueMapper([("readings", 2), ("settings", 3)], Options.TopicOf);
        var late = new KafkaQueueMapper([("settings", 5), ("readings", 8)], Options.TopicOf);

        foreach (var queue in early.GetAllQueues())
        {
            var (topic, partition) = early.PartitionOf(queue);
            Assert.Contains(queue, late.GetAllQueues());
            Assert.Equal((topic, partition), late.PartitionOf(queue));
            Assert.Equal(queue, KafkaQueueMapper.QueueOf(topic, partition));
            Assert.Equal(queue, late.GetQueueForStream(Options.StreamOf(topic, partition)));
        }

        Assert.Equal(5, early.GetAllQueues().Count());
        Assert.Equal(13, late.GetAllQueues().Count());
    }

    [Fact]
    public void PartitionsOfATopic_NeverShareAHash_AndSpreadOverTheRing()
    {
        const int partitions = 256;
        var hashes = new[] { "thermostat-readings", "thermostat-settings" }
            .SelectMany(topic => Enumerable.Range(0, partitions).Select(p => KafkaQueueMapper.QueueHash(topic, p)))
            .ToList();

        Assert.Equal(hashes.Count, hashes.Distinct().Count());
        // Orleans' ring balancer gives a silo the queues whose hash falls in its ranges: 16 equal ranges get about a
        // sixteenth each (32 here; a fair coin's spread, nothing like partitions bunched on one side of the ring).
        var perRange = hashes.GroupBy(h => h >> 28).Select(g => g.Count()).ToList();
        Assert.Equal(16, perRange.Count);
        Assert.All(perRange, count => Assert.InRange(count, 16, 48));
        // Neighbouring partitions land far apart, not in one run.
        var steps = Enumerable.Range(1, partitions - 1)
            .Select(p => Math.Abs((long)KafkaQueueMapper.QueueHash("thermostat-readings", p) - KafkaQueueMapper.QueueHash("thermostat-readings", p - 1)));
        Assert.True(steps.Average() > uint.MaxValue / 5.0, "neighbouring partitions' hashes lie far apart on the ring");
    }

    [Fact]
    public void Grow_AddsTheNewPartitionsQueues_KeepsTheOthers_AndSaysSo()
    {
        var mapper = new KafkaQueueMapper([("readings", 2), ("settings", 2)], Options.TopicOf);
        var before = mapper.GetAllQueues().ToList();
        var raised = 0;
        mapper.QueuesAdded += (_, _) => raised++;

        var added = mapper.Grow([("readings", 4), ("settings", 2)]);

        Assert.Equal([KafkaQueueMapper.QueueOf("readings", 2), KafkaQueueMapper.QueueOf("readings", 3)], added);
        Assert.Equal(1, raised);
        Assert.Equal(before.Concat(added).Order(), mapper.GetAllQueues().Order());
        Assert.Equal([("readings", 4), ("settings", 2)], mapper.Topics);
        Assert.Equal(("readings", 3), mapper.PartitionOf(added[1]));
        Assert.Equal(added[1], mapper.GetQueueForStream(Options.StreamOf("readings", 3)));

        // The same counts again, or fewer (a stale answer from Kafka): nothing changes, nothing is removed.
        Assert.Empty(mapper.Grow([("readings", 4), ("settings", 2)]));
        Assert.Empty(mapper.Grow([("readings", 1), ("settings", 1)]));
        Assert.Equal(1, raised);
        Assert.Equal(6, mapper.GetAllQueues().Count());
    }

    [Fact]
    public async Task Grow_FromManyThreads_EndsWithEveryPartition_WhileReadersSeeWholeSets()
    {
        var mapper = new KafkaQueueMapper([("readings", 1)], Options.TopicOf);
        using var done = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                // A reader sees queues 0..n-1 of the topic, never a gap.
                var known = mapper.GetAllQueues().Select(q => mapper.PartitionOf(q).Partition).Order().ToList();
                Assert.Equal(Enumerable.Range(0, known.Count), known);
            }
        });

        await Task.WhenAll(Enumerable.Range(1, 64).Select(count => Task.Run(() => mapper.Grow([("readings", count)]))));
        await done.CancelAsync();
        await reader;

        Assert.Equal(Enumerable.Range(0, 64).Select(p => KafkaQueueMapper.QueueOf("readings", p)).Order(), mapper.GetAllQueues().Order());
    }

    [Fact]
    public void AStreamOfAnotherNamespace_GetsAQueueOfItsKey()
    {
        var mapper = new KafkaQueueMapper([("readings", 4)], Options.TopicOf);

        var queue = mapper.GetQueueForStream(StreamId.Create("heater-commands", "t-17"));

        Assert.Equal(queue, mapper.GetQueueForStream(StreamId.Create("heater-commands", "t-17")));
        Assert.Contains(queue, mapper.GetAllQueues());
    }
}
