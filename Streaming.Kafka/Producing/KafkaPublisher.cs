using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hearth.Streaming.Kafka.Producing;

/// <summary>
/// The provider's producer (idempotent, <c>murmur2_random</c>, lz4): events published to streams, dead
/// letters, and anything the host publishes itself (an HTTP API that accepts input, say). One per provider.
/// </summary>
public sealed partial class KafkaPublisher : IDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly KafkaStreamMetrics _metrics;
    private readonly ILogger _logger;
    private int _disposed;

    internal KafkaPublisher(IProducer<byte[]?, byte[]?> producer, KafkaStreamMetrics metrics, ILogger logger)
    {
        _producer = producer;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Publishes a message and waits until Kafka has it; returns where it landed.</summary>
    /// <exception cref="ProduceException{TKey,TValue}">Kafka did not take the message.</exception>
    public async Task<TopicPartitionOffset> PublishAsync(string topic, byte[]? key, byte[]? value, Headers? headers = null,
        CancellationToken cancellationToken = default)
    {
        var result = await _producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers },
            cancellationToken).ConfigureAwait(false);
        _metrics.Produced(topic);
        return result.TopicPartitionOffset;
    }

    /// <summary>
    /// Publishes <paramref name="message"/> to <paramref name="topic"/> as a dead letter: its key, value and
    /// headers, plus the reason and where it came from. Retries until Kafka has it (a dead letter is never
    /// given up), then calls <paramref name="published"/>, on a librdkafka thread.
    /// </summary>
    internal void DeadLetter(string topic, TopicPartition source, ConsumeResult<byte[]?, byte[]?> message, string reason, Action published)
    {
        var headers = new Headers();
        foreach (var header in message.Message.Headers ?? [])
        {
            headers.Add(header.Key, header.GetValueBytes());
        }

        headers.Add(KafkaDeadLetterHeaders.Error, Encoding.UTF8.GetBytes(reason));
        headers.Add(KafkaDeadLetterHeaders.SourceTopic, Encoding.UTF8.GetBytes(source.Topic));
        headers.Add(KafkaDeadLetterHeaders.SourcePartition, Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(KafkaDeadLetterHeaders.SourceOffset, Encoding.UTF8.GetBytes(message.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        var letter = new Message<byte[]?, byte[]?> { Key = message.Message.Key, Value = message.Message.Value, Headers = headers };
        var origin = new TopicPartitionOffset(source, message.Offset);
        LogDeadLetter(_logger, source.Topic, source.Partition.Value, message.Offset.Value, topic, reason);
        Send(topic, letter, origin, published);
    }

    private void Send(string topic, Message<byte[]?, byte[]?> letter, TopicPartitionOffset origin, Action published)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        try
        {
            _producer.Produce(topic, letter, report =>
            {
                if (report.Error.IsError)
                {
                    LogDeadLetterRetry(_logger, origin.Topic, origin.Partition.Value, origin.Offset.Value, topic, report.Error.Reason);
                    _ = RetryLaterAsync(topic, letter, origin, published);
                }
                else
                {
                    _metrics.Produced(topic);
                    published();
                }
            });
        }
        catch (Exception e) when (e is KafkaException or ArgumentException or InvalidOperationException)
        {
            // The local queue is full or the producer is failing: try again later, never drop it.
            LogDeadLetterRetry(_logger, origin.Topic, origin.Partition.Value, origin.Offset.Value, topic, e.Message);
            _ = RetryLaterAsync(topic, letter, origin, published);
        }
    }

    private async Task RetryLaterAsync(string topic, Message<byte[]?, byte[]?> letter, TopicPartitionOffset origin, Action published)
    {
        await Task.Delay(RetryDelay).ConfigureAwait(false);
        Send(topic, letter, origin, published);
    }

    /// <summary>Waits until everything produced so far has been delivered (or <paramref name="timeout"/> passed).</summary>
    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _producer.Flush(TimeSpan.FromSeconds(10));
            _producer.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering {Topic}[{Partition}]@{Offset} to {DeadLetterTopic}: {Reason}")]
    private static partial void LogDeadLetter(ILogger logger, string topic, int partition, long offset, string deadLetterTopic, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not publish the dead letter of {Topic}[{Partition}]@{Offset} to {DeadLetterTopic} ({Reason}); retrying, and the partition's checkpoint waits for it")]
    private static partial void LogDeadLetterRetry(ILogger logger, string topic, int partition, long offset, string deadLetterTopic, string reason);
}
