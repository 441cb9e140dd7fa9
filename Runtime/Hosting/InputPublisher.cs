using System.Text;
using Confluent.Kafka;
using Hearth.Runtime.Kafka;

namespace Hearth.Runtime.Hosting;

/// <summary>Where a published message landed.</summary>
public readonly record struct PublishedMessage(string Topic, int Partition, long Offset);

/// <summary>
/// Publishes messages to the silos' input topics on behalf of callers (the HTTP API), through the silo's
/// own producer: keyed with murmur2, so they land on the partition of their key.
/// </summary>
public sealed class InputPublisher
{
    private readonly OutboundProducer _producer;

    internal InputPublisher(OutboundProducer producer) => _producer = producer;

    /// <summary>Publishes and waits until Kafka has the message.</summary>
    /// <exception cref="KafkaException">Kafka did not take the message.</exception>
    public async Task<PublishedMessage> PublishAsync(string topic, string key, byte[] value, CancellationToken cancellationToken)
    {
        var landed = await _producer.SendAndWaitAsync(topic,
            new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(key), Value = value }, cancellationToken).ConfigureAwait(false);
        return new PublishedMessage(landed.Topic, landed.Partition.Value, landed.Offset.Value);
    }
}
