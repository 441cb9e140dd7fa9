using Confluent.Kafka;
using Hearth.Streaming.Kafka.Diagnostics;
using Hearth.Streaming.Kafka.Hosting;

namespace Hearth.Streaming.Kafka.Producing;

/// <summary>
/// The dead letters of one source partition that Kafka does not have yet: how many (its receiver stops reading past a
/// bound, so that they cannot fill the memory), and whether Kafka refuses them (the partition is <em>stalled</em>: its
/// checkpoint waits for them).
/// </summary>
/// <remarks>
/// <para>While Kafka refuses them, one letter (the first refused) is retried, backing off up to
/// <see cref="KafkaBackoff.DefaultMax"/>, and the others wait behind it without being sent; once Kafka takes any, the
/// stall ends and the waiting letters are sent again. So a dead-letter topic that refuses costs one attempt per
/// partition every few seconds, however many letters wait.</para>
/// <para>Letters are counted and reported on librdkafka's threads, the pulling agent waits on another: every member
/// takes the lock.</para>
/// </remarks>
internal sealed class KafkaDeadLetterBacklog(TopicPartition source)
{
    private static readonly KafkaBackoff Backoff = new(KafkaBackoff.DefaultMin, KafkaBackoff.DefaultMax);

    private readonly Lock _lock = new();
    private readonly Queue<KafkaPublisher.PendingDeadLetter> _waiting = new();
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private KafkaPublisher.PendingDeadLetter? _probe;
    private int _unpublished;
    private int _attempt;
    private DateTimeOffset _since;
    private string _refusal = "";

    public TopicPartition Source => source;

    /// <summary>Dead letters counted by <see cref="Add"/> and not published yet.</summary>
    public int Unpublished
    {
        get
        {
            lock (_lock)
            {
                return _unpublished;
            }
        }
    }

    /// <summary>Since when and why Kafka refuses the partition's dead letters, or null while it does not.</summary>
    public KafkaPartitionStall? Stall
    {
        get
        {
            lock (_lock)
            {
                return _probe is null
                    ? null
                    : new KafkaPartitionStall(source.Topic, source.Partition.Value, _since, $"{_refusal}; {_unpublished} dead letters wait");
            }
        }
    }

    /// <summary>Counts a new letter; false when it must wait behind the letter being retried instead of being sent.</summary>
    public bool Add(KafkaPublisher.PendingDeadLetter letter)
    {
        lock (_lock)
        {
            _unpublished++;
            if (_probe is null)
            {
                return true;
            }

            _waiting.Enqueue(letter);
            return false;
        }
    }

    /// <summary>
    /// Kafka refused <paramref name="letter"/> for <paramref name="refusal"/>. Returns whether this starts a stall, and
    /// when to send the letter again if it is the one retried (null: it waits behind that one).
    /// </summary>
    public (bool Started, TimeSpan? RetryAfter) Refused(KafkaPublisher.PendingDeadLetter letter, string refusal, DateTimeOffset now)
    {
        lock (_lock)
        {
            _refusal = refusal;
            if (_probe is null)
            {
                _probe = letter;
                _since = now;
                _attempt = 0;
                return (true, Backoff.Next(_attempt));
            }

            if (ReferenceEquals(_probe, letter))
            {
                return (false, Backoff.Next(++_attempt));
            }

            _waiting.Enqueue(letter);
            return (false, null);
        }
    }

    /// <summary>
    /// Kafka has <paramref name="letter"/>. When that ends a stall, returns how long it lasted and the letters that waited,
    /// to be sent now.
    /// </summary>
    public (TimeSpan? Stalled, List<KafkaPublisher.PendingDeadLetter> Released) Published(KafkaPublisher.PendingDeadLetter letter, DateTimeOffset now)
    {
        TaskCompletionSource published;
        (TimeSpan?, List<KafkaPublisher.PendingDeadLetter>) result = (null, []);
        lock (_lock)
        {
            _unpublished--;
            published = _published;
            _published = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_probe is not null)
            {
                // Kafka takes the partition's dead letters again (this one, or the one retried).
                result = (now - _since, [.. _waiting]);
                _waiting.Clear();
                _probe = null;
            }
        }

        published.TrySetResult();
        return result;
    }

    /// <summary>
    /// Waits until fewer than <paramref name="bound"/> letters are unpublished; false if <paramref name="wait"/> passed
    /// (or <paramref name="cancellationToken"/> was cancelled) first.
    /// </summary>
    public async Task<bool> WaitBelowAsync(int bound, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            Task published;
            lock (_lock)
            {
                if (_unpublished < bound)
                {
                    return true;
                }

                published = _published.Task;
            }

            var remaining = wait - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero || cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            await published.WaitAsync(remaining, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
