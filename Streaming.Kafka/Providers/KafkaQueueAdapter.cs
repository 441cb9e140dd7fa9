using Confluent.Kafka;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Producing;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// Publishing to a stream of the provider writes to Kafka: topic = the stream namespace (or its mapping in
/// <see cref="KafkaStreamOptions.NamespaceTopics"/>), key = the stream key, value = what the data adapter
/// encodes. The publishing call completes once Kafka has acknowledged every event, or fails with a
/// <see cref="KafkaException"/> if Kafka did not take one.
/// </summary>
internal sealed class KafkaQueueAdapter(
    string name, KafkaStreamOptions options, IKafkaDataAdapter dataAdapter, KafkaPublisher publisher,
    Func<QueueId, IQueueAdapterReceiver> createReceiver) : IQueueAdapter
{
    public string Name { get; } = name;

    /// <summary>
    /// Not rewindable: consumers cannot ask for an earlier position. Redelivery after a crash or a queue move
    /// comes from the checkpoint instead.
    /// </summary>
    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadWrite;

    public async Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token,
        Dictionary<string, object>? requestContext)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (token is not null)
        {
            throw new NotSupportedException("The Kafka stream provider does not take sequence tokens from producers: Kafka assigns offsets.");
        }

        var topic = options.TopicOf(streamId.GetNamespace() ?? "");
        var key = streamId.Key.ToArray();
        var sends = events.Select(item => publisher.PublishAsync(topic, key, dataAdapter.Encode(streamId, item))).ToList();
        try
        {
            await Task.WhenAll(sends).ConfigureAwait(false);
        }
        catch (ProduceException<byte[]?, byte[]?> e)
        {
            // Confluent's generic ProduceException cannot cross silos (Orleans allows no such type on the wire), and
            // the caller publishing may be a grain called from another silo: its error, as a plain KafkaException.
            throw new KafkaException(new Error(e.Error.Code, $"Publishing to {topic} failed: {e.Error.Reason} ({e.Error.Code})"));
        }
    }

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) => createReceiver(queueId);
}
