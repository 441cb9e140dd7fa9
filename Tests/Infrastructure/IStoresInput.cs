using Confluent.Kafka;

namespace Hearth.Tests.Infrastructure;

/// <summary>Where a test's input becomes durable: one silo, several silos together, or a cluster of silo processes.</summary>
public interface IStoresInput
{
    /// <summary>Waits until the stored offsets of every partition in <paramref name="ends"/> have reached it.</summary>
    Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase);
}
