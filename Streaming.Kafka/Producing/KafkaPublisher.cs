using System.Collections.Concurrent;
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
    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly int _maxMessageBytes;
    private readonly KafkaStreamMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<TopicPartition, KafkaDeadLetterBacklog> _backlogs = new();
    private int _disposed;

    /// <param name="maxMessageBytes">The producer's <c>message.max.bytes</c>, which dead letters are cut to fit.</param>
    internal KafkaPublisher(IProducer<byte[]?, byte[]?> producer, int maxMessageBytes, KafkaStreamMetrics metrics, TimeProvider time, ILogger logger)
    {
        _producer = producer;
        _maxMessageBytes = maxMessageBytes;
        _metrics = metrics;
        _time = time;
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
    /// librdkafka thread. While Kafka refuses them, the source partition is stalled (<see cref="Stalls"/>).
    /// </summary>
    internal void DeadLetter(string topic, TopicPartition source, ConsumeResult<byte[]?, byte[]?> message, string reason, Action published)
    {
        var letter = new PendingDeadLetter(topic, BacklogOf(source), message, reason, published, _maxMessageBytes);
        LogDeadLetter(_logger, source.Topic, source.Partition.Value, message.Offset.Value, topic, reason);
        if (letter.Backlog.Add(letter))
        {
            Send(letter);
        }
    }

    /// <summary>The dead letters of <paramref name="source"/>'s messages that Kafka does not have yet.</summary>
    internal KafkaDeadLetterBacklog BacklogOf(TopicPartition source) => _backlogs.GetOrAdd(source, static s => new KafkaDeadLetterBacklog(s));

    /// <summary>The source partitions whose dead letters Kafka refuses now (their checkpoints wait for them).</summary>
    public IReadOnlyList<KafkaPartitionStall> Stalls() =>
        [.. _backlogs.Values.Select(b => b.Stall).OfType<KafkaPartitionStall>().OrderBy(s => s.Topic, StringComparer.Ordinal).ThenBy(s => s.Partition)];

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
            // Refused before it was sent (too large, a topic Kafka refuses, a full local queue): no delivery report follows.
            Sent(letter, e.Error);
        }
        catch (Exception e) when (e is KafkaException or ArgumentException or InvalidOperationException)
        {
            Sent(letter, e is KafkaException kafka ? kafka.Error : new Error(ErrorCode.Local_Fail, e.Message));
        }
    }

    private void Sent(PendingDeadLetter letter, Error error)
    {
        var now = _time.GetUtcNow();
        if (!error.IsError)
        {
            _metrics.Produced(letter.Topic);
            letter.Published();
            var (stalled, released) = letter.Backlog.Published(letter, now);
            if (stalled is { } lasted)
            {
                LogDeadLettersResumed(_logger, letter.Source.Topic, letter.Source.Partition.Value, letter.Topic, (long)lasted.TotalSeconds, released.Count);
                released.ForEach(Send);
            }
        }
        else if (error.Code == ErrorCode.MsgSizeTooLarge && letter.Shrink())
        {
            // Larger than the topic takes (its max.message.bytes is below the producer's limit): cut it further at once.
            Send(letter);
        }
        else
        {
            var (started, retryAfter) = letter.Backlog.Refused(letter, $"{letter.Topic} does not take them: {error.Reason} ({error.Code})", now);
            if (started)
            {
                LogDeadLettersStalled(_logger, letter.Source.Topic, letter.Source.Partition.Value, letter.Topic, error.Reason, error.Code);
            }

            if (retryAfter is { } delay)
            {
                _ = RetryLaterAsync(letter, delay);
            }
        }
    }

    private async Task RetryLaterAsync(PendingDeadLetter letter, TimeSpan delay)
    {
        await Task.Delay(delay, _time).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Dead letters of {Topic}[{Partition}] cannot be published to {DeadLetterTopic} ({Reason}, {Code}): the partition's checkpoint waits for them, and they are tried again until Kafka takes them")]
    private static partial void LogDeadLettersStalled(ILogger logger, string topic, int partition, string deadLetterTopic, string reason, ErrorCode code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dead letters of {Topic}[{Partition}] are published to {DeadLetterTopic} again after {Seconds} s ({Waiting} more that waited are sent now); the partition's checkpoint goes on")]
    private static partial void LogDeadLettersResumed(ILogger logger, string topic, int partition, string deadLetterTopic, long seconds, int waiting);

    /// <summary>A dead letter until Kafka has it.</summary>
    internal sealed class PendingDeadLetter
    {
        private readonly ConsumeResult<byte[]?, byte[]?> _original;
        private readonly string _reason;
        private readonly Action _published;

        public PendingDeadLetter(
            string topic, KafkaDeadLetterBacklog backlog, ConsumeResult<byte[]?, byte[]?> original, string reason, Action published, int budget)
        {
            Topic = topic;
            Backlog = backlog;
            _original = original;
            _reason = reason;
            _published = published;
            Budget = budget;
            Message = KafkaDeadLetter.Build(original, backlog.Source, reason, budget);
        }

        public string Topic { get; }

        /// <summary>The dead letters of the same source partition.</summary>
        public KafkaDeadLetterBacklog Backlog { get; }

        public TopicPartition Source => Backlog.Source;

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
