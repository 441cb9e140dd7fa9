using Confluent.Kafka;
using Hearth.Streaming.Kafka.Diagnostics;
using Microsoft.Extensions.Logging;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Streaming.Kafka.Producing;

/// <summary>
/// The provider's producer (idempotent, <c>murmur2_random</c>, lz4): events published to streams, dead
/// letters, and anything the host publishes itself (an HTTP API that accepts input, say). One per provider.
/// </summary>
public sealed partial class KafkaPublisher : IDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly int _maxMessageBytes;
    private readonly KafkaStreamMetrics _metrics;
    private readonly ILogger _logger;
    private int _disposed;

    /// <param name="maxMessageBytes">The producer's <c>message.max.bytes</c>, which dead letters are cut to fit.</param>
    internal KafkaPublisher(IProducer<byte[]?, byte[]?> producer, int maxMessageBytes, KafkaStreamMetrics metrics, ILogger logger)
    {
        _producer = producer;
        _maxMessageBytes = maxMessageBytes;
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
    /// headers, plus the reason and where it came from, cut to fit what Kafka takes (<see cref="KafkaDeadLetter"/>).
    /// Retries until Kafka has it (a dead letter is never given up), then calls <paramref name="published"/>, on a
    /// librdkafka thread.
    /// </summary>
    internal void DeadLetter(string topic, TopicPartition source, ConsumeResult<byte[]?, byte[]?> message, string reason, Action published)
    {
        var letter = new PendingDeadLetter(topic, source, message, reason, published, _maxMessageBytes);
        LogDeadLetter(_logger, source.Topic, source.Partition.Value, message.Offset.Value, topic, reason);
        Send(letter);
    }

    private void Send(PendingDeadLetter letter)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (letter.Truncated is { } truncated && !letter.TruncationLogged)
        {
            letter.TruncationLogged = true;
            LogTruncated(_logger, letter.Source.Topic, letter.Source.Partition.Value, letter.Offset, truncated, letter.Budget);
        }

        try
        {
            _producer.Produce(letter.Topic, letter.Message, report => Sent(letter, report.Error));
        }
        catch (ProduceException<byte[]?, byte[]?> e)
        {
            // Refused before it was sent (too large, say): no delivery report follows.
            Sent(letter, e.Error);
        }
        catch (Exception e) when (e is KafkaException or ArgumentException or InvalidOperationException)
        {
            // The local queue is full or the producer is failing: try again later, never drop it.
            LogDeadLetterRetry(_logger, letter.Source.Topic, letter.Source.Partition.Value, letter.Offset, letter.Topic, e.Message);
            _ = RetryLaterAsync(letter);
        }
    }

    private void Sent(PendingDeadLetter letter, Error error)
    {
        if (!error.IsError)
        {
            _metrics.Produced(letter.Topic);
            letter.Published();
        }
        else if (error.Code == ErrorCode.MsgSizeTooLarge && letter.Shrink())
        {
            // Larger than the topic takes (its max.message.bytes is below the producer's limit): cut it further at once.
            Send(letter);
        }
        else
        {
            LogDeadLetterRetry(_logger, letter.Source.Topic, letter.Source.Partition.Value, letter.Offset, letter.Topic, error.Reason);
            _ = RetryLaterAsync(letter);
        }
    }

    private async Task RetryLaterAsync(PendingDeadLetter letter)
    {
        await Task.Delay(RetryDelay).ConfigureAwait(false);
        Send(letter);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "The dead letter of {Topic}[{Partition}]@{Offset} is cut to fit {MaxBytes} bytes (the original's sizes: {Truncated})")]
    private static partial void LogTruncated(ILogger logger, string topic, int partition, long offset, string truncated, int maxBytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not publish the dead letter of {Topic}[{Partition}]@{Offset} to {DeadLetterTopic} ({Reason}); retrying, and the partition's checkpoint waits for it")]
    private static partial void LogDeadLetterRetry(ILogger logger, string topic, int partition, long offset, string deadLetterTopic, string reason);

    /// <summary>A dead letter until Kafka has it.</summary>
    private sealed class PendingDeadLetter
    {
        private readonly ConsumeResult<byte[]?, byte[]?> _original;
        private readonly string _reason;
        private readonly Action _published;

        public PendingDeadLetter(string topic, TopicPartition source, ConsumeResult<byte[]?, byte[]?> original, string reason, Action published, int budget)
        {
            Topic = topic;
            Source = source;
            _original = original;
            _reason = reason;
            _published = published;
            Budget = budget;
            Message = KafkaDeadLetter.Build(original, source, reason, budget);
        }

        public string Topic { get; }

        public TopicPartition Source { get; }

        public long Offset => _original.Offset.Value;

        /// <summary>The most bytes the letter may take (see <see cref="KafkaDeadLetter.MaxSize"/>).</summary>
        public int Budget { get; private set; }

        public Message<byte[]?, byte[]?> Message { get; private set; }

        /// <summary>The original's sizes, when the letter had to be cut.</summary>
        public string? Truncated => KafkaDeadLetterHeaders.GetText(Message.Headers, KafkaDeadLetterHeaders.Truncated);

        public bool TruncationLogged { get; set; }

        /// <summary>Cuts the letter to half its size, because Kafka refused it as too large; false if nothing is left to cut.</summary>
        public bool Shrink()
        {
            var size = KafkaDeadLetter.MaxSize(Message);
            var smaller = KafkaDeadLetter.Build(_original, Source, _reason, size / 2);
            if (KafkaDeadLetter.MaxSize(smaller) >= size)
            {
                return false;
            }

            Budget = size / 2;
            Message = smaller;
            TruncationLogged = false;
            return true;
        }

        public void Published() => _published();
    }
}
