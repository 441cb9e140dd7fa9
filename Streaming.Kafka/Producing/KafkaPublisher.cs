using System.Collections.Concurrent;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Diagnostics;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.Logging;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Streaming.Kafka.Producing;

/// <summary>
/// The provider's producer (idempotent, <c>murmur2_random</c>, lz4): events published to streams, dead
/// letters, and anything the host publishes itself (an HTTP API that accepts input, say). One per provider.
/// </summary>
/// <remarks>
/// An idempotent producer that fails fatally (librdkafka gives up its guarantees of order and no duplicates, after an
/// <c>OutOfOrderSequenceNumber</c> say) refuses everything from then on. The publisher then builds a new one in its place:
/// what the failed one had queued fails (librdkafka purges it), calls in flight fail with Confluent.Kafka's exceptions,
/// which callers retry as they would any Kafka failure, and the failed one is disposed once what it had sent is
/// acknowledged. A producer that fails fatally again before it delivered anything, or cannot be built, is reported by
/// <see cref="Fault"/> (rebuilding does not help), and rebuilt again, backing off.
/// </remarks>
public sealed partial class KafkaPublisher : IDisposable
{
    private static readonly KafkaBackoff RebuildBackoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    /// <summary>How long a producer that failed fatally may wait for the acknowledgements of what it had sent.</summary>
    private static readonly TimeSpan RetireTimeout = TimeSpan.FromSeconds(30);

    private readonly KafkaClients _clients;
    private readonly int _maxMessageBytes;
    private readonly KafkaStreamMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<TopicPartition, KafkaDeadLetterBacklog> _backlogs = new();
    private readonly Lock _lock = new();
    private IProducer<byte[]?, byte[]?> _producer;
    private bool _replacing;
    private int _fatalErrors;
    private DateTimeOffset _failingSince;
    private string _fatalError = "";
    private string? _rebuildFailure;
    private int _disposed;

    internal KafkaPublisher(KafkaClients clients, KafkaStreamMetrics metrics, TimeProvider time, ILogger logger)
    {
        _clients = clients;
        _maxMessageBytes = clients.ProducerMessageMaxBytes;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _producer = clients.CreateProducer(Failed);
    }

    /// <summary>The producer in use now (a new one after each fatal error).</summary>
    /// <remarks>Read for every event published: one reference, replaced only under <c>_lock</c>, needs no lock to read.</remarks>
    internal IProducer<byte[]?, byte[]?> Producer => Volatile.Read(ref _producer);

    /// <summary>
    /// Null while the producer works or was rebuilt after a fatal error; else why rebuilding it does not help: it failed
    /// fatally again before it delivered anything, or it could not be built.
    /// </summary>
    public KafkaProducerFault? Fault
    {
        get
        {
            lock (_lock)
            {
                return _rebuildFailure is not null
                    ? new KafkaProducerFault(_failingSince, _fatalErrors, $"failed fatally ({_fatalError}) and cannot be rebuilt: {_rebuildFailure}")
                    : _fatalErrors > 1
                        ? new KafkaProducerFault(_failingSince, _fatalErrors,
                            $"failed fatally {_fatalErrors} times without delivering a message in between (the last time: {_fatalError}); it is rebuilt each time")
                        : null;
            }
        }
    }

    /// <summary>Publishes a message and waits until Kafka has it; returns where it landed.</summary>
    /// <exception cref="ProduceException{TKey,TValue}">Kafka did not take the message.</exception>
    public async Task<TopicPartitionOffset> PublishAsync(string topic, byte[]? key, byte[]? value, Headers? headers = null,
        CancellationToken cancellationToken = default)
    {
        var producer = Producer;
        var result = await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = headers },
            cancellationToken).ConfigureAwait(false);
        Delivered(producer);
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

        var producer = Producer;
        try
        {
            producer.Produce(letter.Topic, letter.Message, report => Sent(letter, producer, report.Error));
        }
        catch (ProduceException<byte[]?, byte[]?> e)
        {
            // Refused before it was sent (too large, a topic Kafka refuses, a full local queue): no delivery report follows.
            Sent(letter, producer, e.Error);
        }
        catch (Exception e) when (e is KafkaException or ArgumentException or InvalidOperationException)
        {
            Sent(letter, producer, e is KafkaException kafka ? kafka.Error : new Error(ErrorCode.Local_Fail, e.Message));
        }
    }

    private void Sent(PendingDeadLetter letter, IProducer<byte[]?, byte[]?> producer, Error error)
    {
        var now = _time.GetUtcNow();
        if (!error.IsError)
        {
            Delivered(producer);
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

    /// <summary>A message <paramref name="producer"/> sent was delivered: if it is the producer in use, it works.</summary>
    private void Delivered(IProducer<byte[]?, byte[]?> producer)
    {
        if (Volatile.Read(ref _fatalErrors) == 0)
        {
            return;
        }

        lock (_lock)
        {
            if (ReferenceEquals(producer, _producer) && !_replacing)
            {
                _fatalErrors = 0;
            }
        }
    }

    /// <summary>librdkafka's error handler for a fatal error of <paramref name="producer"/>, on its thread.</summary>
    private void Failed(IProducer<byte[]?, byte[]?> producer, Error error)
    {
        int fatalErrors;
        lock (_lock)
        {
            if (!ReferenceEquals(producer, _producer) || _replacing || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            _replacing = true;
            fatalErrors = ++_fatalErrors;
            if (fatalErrors == 1)
            {
                _failingSince = _time.GetUtcNow();
            }

            _fatalError = $"{error.Reason} ({error.Code})";
        }

        LogProducerFailed(_logger, error.Code, error.Reason);
        // Not on this thread: retiring the failed producer waits for it, and this is its thread.
        _ = Task.Run(() => ReplaceAsync(producer, fatalErrors));
    }

    /// <summary>Builds a producer in the place of <paramref name="failed"/> (at once after a first fatal error), then retires it.</summary>
    private async Task ReplaceAsync(IProducer<byte[]?, byte[]?> failed, int fatalErrors)
    {
        if (fatalErrors > 1)
        {
            // The last one failed before it delivered anything: rebuilding does not help now, so not in a tight loop.
            await Task.Delay(RebuildBackoff.Next(fatalErrors - 2), _time).ConfigureAwait(false);
        }

        IProducer<byte[]?, byte[]?>? replacement = null;
        for (var attempt = 0; replacement is null; attempt++)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            try
            {
                replacement = _clients.CreateProducer(Failed);
            }
            catch (Exception e)
            {
                lock (_lock)
                {
                    _rebuildFailure = e.Message;
                }

                if (attempt == 0)
                {
                    LogRebuildFailed(_logger, e.Message);
                }

                await Task.Delay(RebuildBackoff.Next(attempt), _time).ConfigureAwait(false);
            }
        }

        bool rebuiltAfterFailures;
        lock (_lock)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                // Dispose has retired the failed producer already.
                replacement.Dispose();
                return;
            }

            rebuiltAfterFailures = _rebuildFailure is not null;
            _producer = replacement;
            _replacing = false;
            _rebuildFailure = null;
        }

        if (rebuiltAfterFailures)
        {
            LogRebuilt(_logger);
        }

        // What it had queued failed when it failed; what it had sent gets the broker's answer.
        failed.Flush(RetireTimeout);
        failed.Dispose();
    }

    /// <summary>Waits until everything produced so far has been delivered (or <paramref name="timeout"/> passed).</summary>
    public void Flush(TimeSpan timeout) => Producer.Flush(timeout);

    public void Dispose()
    {
        IProducer<byte[]?, byte[]?> producer;
        lock (_lock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            producer = _producer;
        }

        producer.Flush(TimeSpan.FromSeconds(10));
        producer.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The Kafka producer failed fatally ({Code}: {Reason}); a new one replaces it: what it had queued fails and is published again by its callers")]
    private static partial void LogProducerFailed(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not build a Kafka producer to replace the one that failed fatally ({Reason}); trying again, and until then nothing is published")]
    private static partial void LogRebuildFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A new Kafka producer replaces the one that failed fatally; publishing goes on")]
    private static partial void LogRebuilt(ILogger logger);

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

/// <summary>The provider's producer failing fatally, and rebuilding it not helping.</summary>
/// <param name="Since">When the first of the fatal errors in a row happened.</param>
/// <param name="FatalErrors">Fatal errors in a row, without a message delivered in between.</param>
/// <param name="Reason">What happened, for an operator.</param>
public sealed record KafkaProducerFault(DateTimeOffset Since, int FatalErrors, string Reason);
