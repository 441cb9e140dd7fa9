using Confluent.Kafka;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// Sets a Kafka stream provider's checkpoints from outside its queues: for a migration that knows up to where its
/// input was applied, before the provider reads it. Resolve it keyed by the provider's name.
/// </summary>
public interface IKafkaCheckpoints
{
    /// <summary>
    /// Commits <paramref name="offsets"/> (each the next offset to read) as the provider's consumer group's
    /// offsets, so that its queues start there and lag tools measure from there.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// An offset lies past its partition's end (the topic is not the one that was read), or Kafka refused the
    /// commit (the group has members of its own, such as consumers of another application still running).
    /// </exception>
    Task SetAsync(IReadOnlyCollection<TopicPartitionOffset> offsets, CancellationToken cancellationToken);
}

/// <summary>Commits checkpoints with a consumer of the provider's group that reads nothing and joins nothing.</summary>
internal sealed class KafkaCheckpointWriter(KafkaClients clients) : IKafkaCheckpoints
{
    public Task SetAsync(IReadOnlyCollection<TopicPartitionOffset> offsets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        return offsets.Count == 0 ? Task.CompletedTask : Task.Run(() => Set(offsets), cancellationToken);
    }

    private void Set(IReadOnlyCollection<TopicPartitionOffset> offsets)
    {
        var timeout = clients.Options.MetadataTimeout;
        var group = clients.Options.GroupId;
        using var consumer = clients.CreateCommitter();
        foreach (var offset in offsets)
        {
            WatermarkOffsets ends;
            try
            {
                ends = consumer.QueryWatermarkOffsets(offset.TopicPartition, timeout);
            }
            catch (KafkaException e)
            {
                throw new InvalidOperationException(
                    $"Cannot set the checkpoint of {offset.Topic}[{offset.Partition.Value}] (consumer group {group}): Kafka does not answer for the partition ({e.Error.Reason}).", e);
            }

            if (offset.Offset.Value > ends.High.Value)
            {
                throw new KafkaCheckpointPastEndException(offset, ends.High.Value, group);
            }
        }

        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException e)
        {
            throw new InvalidOperationException(
                $"Kafka refused the checkpoints of consumer group {group} ({e.Error.Code}: {e.Error.Reason}). A group with members of its own " +
                "does not accept them: stop the consumers of the group (the application that used it before) and start again.", e);
        }
    }
}

/// <summary>A checkpoint to set lies past its partition's end: the partition is not the one whose input was applied.</summary>
public sealed class KafkaCheckpointPastEndException(TopicPartitionOffset checkpoint, long end, string groupId)
    : InvalidOperationException(
        $"Cannot set the checkpoint of {checkpoint.Topic}[{checkpoint.Partition.Value}] (consumer group {groupId}) to {checkpoint.Offset.Value}: " +
        $"the partition ends at {end}, so it is not the partition whose input was applied (was the topic recreated, or is the broker a new one?).")
{
    public TopicPartitionOffset Checkpoint { get; } = checkpoint;
}
