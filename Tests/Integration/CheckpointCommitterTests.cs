using Confluent.Kafka;
using Hearth.Streaming.Kafka.Committing;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Hearth.Tests.Integration;

/// <summary>
/// The committer commits the silo's checkpoints to the consumer group only while the fence confirms, within its lease,
/// that the silo still owns them: a silo declared dead, or one that stalled after asking, commits nothing.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class CheckpointCommitterTests(EmbeddedKafkaFixture kafka)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task ConfirmedMember_CommitsEveryCheckpointThatMoved_InOneRound()
    {
        var (topics, checkpoints, committer, fence, _) = Create();
        using var _ = committer;
        var first = committer.Register(new TopicPartition(topics.Readings, 0), 10);
        var second = committer.Register(new TopicPartition(topics.Readings, 1), 20);
        first.Store(15);
        second.Store(25);

        Assert.True(await committer.CommitAsync(CancellationToken.None));

        Assert.Equal([15L, 25L], Committed(checkpoints, topics.Readings, 2));
        Assert.Equal(1, fence.Asked);
        // Nothing moved since: nothing to ask or commit.
        Assert.True(await committer.CommitAsync(CancellationToken.None));
        Assert.Equal(1, fence.Asked);
    }

    [Fact]
    public async Task SiloDeclaredDead_CommitsNothing_AndItsSuccessorsCheckpointsStand()
    {
        var (topics, checkpoints, committer, fence, _) = Create();
        using var _ = committer;
        var partition = new TopicPartition(topics.Readings, 0);
        var stale = committer.Register(partition, 10);
        stale.Store(15);
        checkpoints.Commit([new KeyValuePair<TopicPartition, long>(partition, 40)]);
        fence.Refusal = "the cluster declared this silo dead";

        Assert.False(await committer.CommitAsync(CancellationToken.None));

        Assert.Equal([40L], Committed(checkpoints, topics.Readings, 1));
        Assert.Equal(10, stale.Committed);
    }

    [Fact]
    public async Task SiloThatStalledAfterItsMembershipWasConfirmed_CommitsNothing_UntilConfirmedAgainInTime()
    {
        var (topics, checkpoints, committer, fence, time) = Create();
        using var _ = committer;
        var checkpoint = committer.Register(new TopicPartition(topics.Readings, 0), 10);
        checkpoint.Store(15);
        // The answer arrives after the lease ran out (the silo stalled while asking, or right after).
        fence.WhileAsking = () => time.Advance(fence.Lease);

        Assert.False(await committer.CommitAsync(CancellationToken.None));
        Assert.Equal([Offset.Unset.Value], Committed(checkpoints, topics.Readings, 1));

        fence.WhileAsking = () => time.Advance(fence.Lease - TimeSpan.FromTicks(1));
        Assert.True(await committer.CommitAsync(CancellationToken.None));
        Assert.Equal([15L], Committed(checkpoints, topics.Readings, 1));
    }

    [Fact]
    public async Task AnOffsetALateCommitOfAnotherSiloWroteOverThisSilos_IsPutRightByTheNextRound_AndAHigherOneStands()
    {
        var (topics, checkpoints, committer, fence, _) = Create();
        using var _ = committer;
        var mine = new TopicPartition(topics.Readings, 0);
        var moved = new TopicPartition(topics.Readings, 1);
        var checkpoint = committer.Register(mine, 10);
        var other = committer.Register(moved, 10);
        checkpoint.Store(40);
        other.Store(40);
        Assert.True(await committer.CommitAsync(CancellationToken.None));

        // A silo declared dead wakes with a commit it had sent before it stalled: partition 0 goes back to 25. Partition 1's
        // new owner commits 60 (as while a queue moves): that one is not this silo's to lower.
        checkpoints.Commit([new KeyValuePair<TopicPartition, long>(mine, 25), new KeyValuePair<TopicPartition, long>(moved, 60)]);
        Assert.True(await committer.CommitAsync(CancellationToken.None));

        Assert.Equal([40L, 60L], Committed(checkpoints, topics.Readings, 2));
        Assert.Equal(2, fence.Asked);

        // As a silo declared dead, it puts nothing right.
        checkpoints.Commit([new KeyValuePair<TopicPartition, long>(mine, 30)]);
        fence.Refusal = "the cluster declared this silo dead";
        Assert.False(await committer.CommitAsync(CancellationToken.None));
        Assert.Equal([30L, 60L], Committed(checkpoints, topics.Readings, 2));
    }

    [Fact]
    public async Task CheckpointsAreCommittedEveryInterval_WithoutBeingAsked()
    {
        var (topics, checkpoints, committer, _, time) = Create();
        using var _ = committer;
        var checkpoint = committer.Register(new TopicPartition(topics.Readings, 0), 0);
        checkpoint.Store(7);

        await Poll.UntilAsync(() =>
        {
            time.Advance(Interval);
            return Task.FromResult(checkpoint.Committed == 7);
        }, TimeSpan.FromSeconds(30), "the committer's round");

        Assert.Equal([7L], Committed(checkpoints, topics.Readings, 1));
    }

    private (TestTopics Topics, KafkaCheckpoints Checkpoints, KafkaCheckpointCommitter Committer, ScriptedFence Fence, FakeTimeProvider Time) Create()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var options = new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers, GroupId = topics.GroupId, Topics = [topics.Readings] };
        var clients = new KafkaClients("test", options, NullLoggerFactory.Instance);
        var time = new FakeTimeProvider();
        var fence = new ScriptedFence();
        var committer = new KafkaCheckpointCommitter(clients.CreateCommitter(), fence, Interval, time, NullLogger.Instance);
        return (topics, new KafkaCheckpoints(kafka.BootstrapServers, topics.GroupId), committer, fence, time);
    }

    private static List<long> Committed(KafkaCheckpoints checkpoints, string topic, int partitions) =>
        [.. Enumerable.Range(0, partitions).Select(p => checkpoints.Committed([new TopicPartition(topic, p)]).Single().Value)];

    private sealed class ScriptedFence : IKafkaCheckpointFence
    {
        public TimeSpan Lease => TimeSpan.FromSeconds(1);

        public string? Refusal { get; set; }

        public Action? WhileAsking { get; set; }

        public int Asked { get; private set; }

        public Task<string?> RefusalAsync(CancellationToken cancellationToken)
        {
            Asked++;
            WhileAsking?.Invoke();
            return Task.FromResult(Refusal);
        }
    }
}
