using Confluent.Kafka;

namespace Hearth.Tests.Infrastructure;

/// <summary>Where a test's input becomes durable: one silo, or a cluster of silos sharing a consumer group.</summary>
public interface IStoresInput
{
    /// <summary>Waits until the checkpoints of every partition in <paramref name="ends"/> have reached it.</summary>
    Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase);
}
