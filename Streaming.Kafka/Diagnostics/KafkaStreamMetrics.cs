using System.Diagnostics.Metrics;

namespace Hearth.Streaming.Kafka.Diagnostics;

/// <summary>
/// The provider's instruments, on the <c>Hearth.Streaming.Kafka</c> meter: messages read, delivered,
/// dead-lettered and produced per topic, and per partition the consumer lag, the checkpoint and the
/// cached events of every queue this silo pulls.
/// </summary>
public sealed class KafkaStreamMetrics
{
    public const string MeterName = "Hearth.Streaming.Kafka";

    private readonly Counter<long> _received;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _produced;

    public KafkaStreamMetrics(IMeterFactory meters, Func<IEnumerable<KafkaPartitionStatus>> partitions)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(partitions);
        var meter = meters.Create(MeterName);
        _received = meter.CreateCounter<long>("hearth.kafka.messages.received", "{message}", "Messages read from input partitions");
        _delivered = meter.CreateCounter<long>("hearth.kafka.messages.delivered", "{message}", "Messages whose delivery to every consumer completed");
        _deadLettered = meter.CreateCounter<long>("hearth.kafka.messages.deadlettered", "{message}", "Messages published to the dead-letter topic, by reason (decode, delivery)");
        _produced = meter.CreateCounter<long>("hearth.kafka.messages.produced", "{message}", "Messages published, by topic");
        meter.CreateObservableGauge("hearth.kafka.consumer.lag", () => Per(partitions(), p => p.Lag), "{message}",
            "Messages of a partition after its checkpoint (high watermark minus checkpoint), per partition this silo pulls");
        meter.CreateObservableGauge("hearth.kafka.checkpoint.offset", () => Per(partitions(), p => p.Checkpoint), "{offset}",
            "The offset up to which a partition's messages are finished (the committed checkpoint follows it)");
        meter.CreateObservableGauge("hearth.kafka.cache.events", () => Per(partitions(), p => p.CachedEvents), "{event}",
            "Events read and not yet finished, per partition this silo pulls");
    }

    internal void Received(string topic, long count) => _received.Add(count, new KeyValuePair<string, object?>("topic", topic));

    internal void Delivered(string topic, long count) => _delivered.Add(count, new KeyValuePair<string, object?>("topic", topic));

    internal void DeadLettered(string topic, string reason) =>
        _deadLettered.Add(1, new KeyValuePair<string, object?>("topic", topic), new KeyValuePair<string, object?>("reason", reason));

    internal void Produced(string topic) => _produced.Add(1, new KeyValuePair<string, object?>("topic", topic));

    private static IEnumerable<Measurement<long>> Per(IEnumerable<KafkaPartitionStatus> partitions, Func<KafkaPartitionStatus, long> value) =>
        partitions.Select(p => new Measurement<long>(value(p),
            new KeyValuePair<string, object?>("topic", p.Topic), new KeyValuePair<string, object?>("partition", p.Partition)));
}

/// <summary>One input partition as pulled by this silo.</summary>
/// <param name="Checkpoint">Every message before this offset is finished; the committed offset follows it within the commit interval.</param>
/// <param name="HighWatermark">The partition's end as last seen by its consumer (-1 before the first fetch).</param>
/// <param name="Lag">Messages after the checkpoint (0 while unknown).</param>
/// <param name="Received">Messages read since this silo took the partition.</param>
/// <param name="Delivered">Messages finished since this silo took the partition (delivered or dead-lettered).</param>
/// <param name="CachedEvents">Events read and not finished yet.</param>
/// <param name="Since">When this silo took the partition.</param>
public sealed record KafkaPartitionStatus(
    string Topic, int Partition, long Checkpoint, long HighWatermark, long Lag, long Received, long Delivered,
    long DeadLettered, int CachedEvents, DateTimeOffset Since);

/// <summary>
/// An input partition whose checkpoint waits because Kafka refuses something it must take first (the partition's
/// dead letters): since when, and why. It goes on by itself once Kafka takes them.
/// </summary>
public sealed record KafkaPartitionStall(string Topic, int Partition, DateTimeOffset Since, string Reason);
