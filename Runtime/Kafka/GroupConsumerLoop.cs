using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Hearth.Runtime.Kafka;

/// <summary>What a silo does when the group gives it partitions or takes them away.</summary>
internal interface IPartitionLifecycle
{
    /// <summary>Partitions were assigned; returns where to start reading each.</summary>
    IReadOnlyList<TopicPartitionOffset> OnAssigned(IReadOnlyList<TopicPartition> partitions);

    /// <summary>Partitions are being revoked: finish, write and release them before returning.</summary>
    void OnRevoked(IReadOnlyList<TopicPartition> partitions);

    /// <summary>Partitions were lost (the group moved them without us): drop them without writing.</summary>
    void OnLost(IReadOnlyList<TopicPartition> partitions);

    /// <summary>The silo is leaving the group: release everything it owns.</summary>
    void OnLeaving();
}

/// <summary>
/// The consumer that joins the silos' consumer group over the partition-owning topic, with
/// cooperative-sticky assignment: a rebalance moves only the partitions that must move, and the rest
/// keep running.
/// </summary>
internal sealed class GroupConsumerLoop : ConsumerLoop
{
    private readonly KafkaClientFactory _clients;
    private readonly string _topic;
    private readonly IPartitionLifecycle _lifecycle;

    public GroupConsumerLoop(
        KafkaClientFactory clients, string topic, IPartitionLifecycle lifecycle, IMessageDispatcher dispatcher, ILogger logger)
        : base(dispatcher, logger)
    {
        _clients = clients;
        _topic = topic;
        _lifecycle = lifecycle;
    }

    protected override IConsumer<byte[]?, byte[]?> Build()
    {
        var consumer = _clients.GroupConsumer()
            // Handlers run on this loop's thread, inside Consume. librdkafka applies the returned offsets
            // with an incremental assign; Offset.Unset means "the group's committed offset, else earliest".
            .SetPartitionsAssignedHandler((_, partitions) => _lifecycle.OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) =>
            {
                var revoked = partitions.Select(p => p.TopicPartition).ToList();
                ResumeNow(revoked);
                _lifecycle.OnRevoked(revoked);
            })
            .SetPartitionsLostHandler((_, partitions) =>
            {
                var lost = partitions.Select(p => p.TopicPartition).ToList();
                ResumeNow(lost);
                _lifecycle.OnLost(lost);
            })
            .Build();
        consumer.Subscribe(_topic);
        return consumer;
    }

    protected override void OnStopping() => _lifecycle.OnLeaving();
}

/// <summary>
/// The consumer of the co-partitioned input topics (settings): the silo assigns it partition p of each
/// such topic whenever the group gives it partition p of the owning topic, and takes it away before
/// releasing p.
/// </summary>
internal sealed class CoPartitionedConsumerLoop : ConsumerLoop
{
    private readonly KafkaClientFactory _clients;

    public CoPartitionedConsumerLoop(KafkaClientFactory clients, IMessageDispatcher dispatcher, ILogger logger)
        : base(dispatcher, logger)
    {
        _clients = clients;
    }

    /// <summary>Adds partitions, reading from the given offsets.</summary>
    public Task AssignAsync(IReadOnlyList<TopicPartitionOffset> partitions) =>
        partitions.Count == 0 ? Task.CompletedTask : RunOnLoopAsync(c => c.IncrementalAssign(partitions));

    /// <summary>
    /// Removes partitions. When the returned task completes, no message of them is on its way to a
    /// partition queue.
    /// </summary>
    public Task UnassignAsync(IReadOnlyList<TopicPartition> partitions) =>
        partitions.Count == 0
            ? Task.CompletedTask
            : RunOnLoopAsync(c =>
            {
                ResumeNow(partitions);
                c.IncrementalUnassign(partitions);
            });

    protected override IConsumer<byte[]?, byte[]?> Build() => _clients.CoPartitionedConsumer().Build();
}
