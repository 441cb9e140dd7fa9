using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Hearth.Runtime.Diagnostics;

/// <summary>
/// The runtime's counters, kept as plain totals (read by the HTTP API and tests) and published as
/// System.Diagnostics.Metrics instruments on the <c>Hearth.Runtime</c> meter.
/// </summary>
public sealed class RuntimeMetrics : IDisposable
{
    public const string MeterName = "Hearth.Runtime";

    private readonly Meter _meter;
    private readonly ConcurrentDictionary<string, TopicCounters> _topics = new(StringComparer.Ordinal);
    private readonly Histogram<double> _checkpointDuration;
    private readonly Histogram<double> _outputLatency;
    private readonly Histogram<double> _turnDuration;
    private readonly LatencyWindow _recentOutputLatency = new();
    private long _activations;
    private long _activationsCreated;
    private long _deactivations;
    private long _checkpoints;
    private long _checkpointFailures;
    private long _fencedPartitions;
    private long _rebalances;
    private long _queued;
    private long _pauses;
    private string? _lastDeadLetterReason;

    public RuntimeMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableCounter("hearth.messages.received", () => PerTopic(t => t.Received),
            "{message}", "Messages taken from input topics");
        _meter.CreateObservableCounter("hearth.messages.processed", () => PerTopic(t => t.Processed),
            "{message}", "Input messages delivered to grains");
        _meter.CreateObservableCounter("hearth.messages.deadlettered", () => PerTopic(t => t.DeadLettered),
            "{message}", "Malformed input messages sent to the dead-letter topic");
        _meter.CreateObservableCounter("hearth.messages.forwarded", () => PerTopic(t => t.Forwarded),
            "{message}", "Input messages found on a partition other than their key's and forwarded to it");
        _meter.CreateObservableCounter("hearth.messages.duplicates", () => PerTopic(t => t.Duplicates),
            "{message}", "Forwarded copies dropped because their source offset was already applied");
        _meter.CreateObservableCounter("hearth.messages.published", () => PerTopic(t => t.Published),
            "{message}", "Messages grains published to output streams");
        _meter.CreateObservableUpDownCounter("hearth.activations", () => Volatile.Read(ref _activations),
            "{activation}", "Grain activations in memory");
        _meter.CreateObservableCounter("hearth.activations.created", () => Volatile.Read(ref _activationsCreated),
            "{activation}", "Grain activations created");
        _meter.CreateObservableCounter("hearth.deactivations", () => Volatile.Read(ref _deactivations),
            "{activation}", "Grain activations dropped from memory");
        _meter.CreateObservableUpDownCounter("hearth.queued", () => Volatile.Read(ref _queued),
            "{message}", "Input messages buffered in partition queues");
        _meter.CreateObservableCounter("hearth.partitions.paused", () => Volatile.Read(ref _pauses),
            "{pause}", "Times a partition's consumption was paused because its queue stayed full");
        _meter.CreateObservableCounter("hearth.checkpoints", () => Volatile.Read(ref _checkpoints),
            "{checkpoint}", "Checkpoints written");
        _meter.CreateObservableCounter("hearth.checkpoints.failed", () => Volatile.Read(ref _checkpointFailures),
            "{checkpoint}", "Checkpoints that failed to write");
        _meter.CreateObservableCounter("hearth.partitions.fenced", () => Volatile.Read(ref _fencedPartitions),
            "{partition}", "Partition checkpoints refused because another silo had claimed the partition");
        _meter.CreateObservableCounter("hearth.rebalances", () => Volatile.Read(ref _rebalances),
            "{rebalance}", "Partition assignments and revocations handled");
        _checkpointDuration = _meter.CreateHistogram<double>("hearth.checkpoint.duration", "ms",
            "Time to snapshot, flush the producer and write one checkpoint");
        _outputLatency = _meter.CreateHistogram<double>("hearth.output.latency", "ms",
            "From an input message's timestamp to the publication of the output it caused (reading to heater command)");
        _turnDuration = _meter.CreateHistogram<double>("hearth.turn.duration", "ms",
            "Time a grain takes to handle one message");
    }

    public long Activations => Volatile.Read(ref _activations);

    public long ActivationsCreated => Volatile.Read(ref _activationsCreated);

    public long Deactivations => Volatile.Read(ref _deactivations);

    public long Checkpoints => Volatile.Read(ref _checkpoints);

    public long CheckpointFailures => Volatile.Read(ref _checkpointFailures);

    public long FencedPartitions => Volatile.Read(ref _fencedPartitions);

    public long Rebalances => Volatile.Read(ref _rebalances);

    public long Queued => Volatile.Read(ref _queued);

    public long Pauses => Volatile.Read(ref _pauses);

    /// <summary>The counters of one topic (created on first use).</summary>
    public TopicCounters ForTopic(string topic) => _topics.GetOrAdd(topic, static t => new TopicCounters(t));

    /// <summary>All topics' counters seen so far.</summary>
    public IReadOnlyCollection<TopicCounters> Topics => _topics.Values.ToArray();

    internal void ActivationCreated()
    {
        Interlocked.Increment(ref _activations);
        Interlocked.Increment(ref _activationsCreated);
    }

    internal void ActivationsRemoved(int count)
    {
        Interlocked.Add(ref _activations, -count);
        Interlocked.Add(ref _deactivations, count);
    }

    internal void QueuedChanged(int delta) => Interlocked.Add(ref _queued, delta);

    internal void PartitionPaused() => Interlocked.Increment(ref _pauses);

    /// <summary>Why the latest dead letter was rejected.</summary>
    public string? LastDeadLetterReason => Volatile.Read(ref _lastDeadLetterReason);

    internal void DeadLettered(TopicCounters counters, string reason)
    {
        counters.OnDeadLettered();
        Volatile.Write(ref _lastDeadLetterReason, reason);
    }

    internal void CheckpointWritten(double milliseconds)
    {
        Interlocked.Increment(ref _checkpoints);
        _checkpointDuration.Record(milliseconds);
    }

    internal void CheckpointFailed() => Interlocked.Increment(ref _checkpointFailures);

    internal void PartitionFenced() => Interlocked.Increment(ref _fencedPartitions);

    internal void Rebalanced() => Interlocked.Increment(ref _rebalances);

    internal void OutputLatency(double milliseconds, KeyValuePair<string, object?> stream)
    {
        _outputLatency.Record(milliseconds, stream);
        _recentOutputLatency.Add(milliseconds);
    }

    internal void TurnCompleted(double milliseconds) => _turnDuration.Record(milliseconds);

    /// <summary>Percentiles of the output latencies recorded since the last call (for the dashboard).</summary>
    public (double P50, double P99, int Count) TakeOutputLatencyPercentiles() => _recentOutputLatency.TakePercentiles();

    /// <summary>Registers an observable gauge on this meter (figures computed elsewhere in the runtime).</summary>
    internal void ObserveGauge(string name, string unit, string description, Func<IEnumerable<Measurement<long>>> observe) =>
        _meter.CreateObservableGauge(name, observe, unit, description);

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> PerTopic(Func<TopicCounters, long> read)
    {
        foreach (var counters in _topics.Values)
        {
            yield return new Measurement<long>(read(counters), new KeyValuePair<string, object?>("topic", counters.Topic));
        }
    }
}

/// <summary>A bounded sample of recent latencies, drained on each read.</summary>
internal sealed class LatencyWindow
{
    private const int Capacity = 20_000;
    private readonly Lock _lock = new();
    private readonly double[] _samples = new double[Capacity];
    private int _count;
    private long _seen;

    public void Add(double value)
    {
        lock (_lock)
        {
            _seen++;
            if (_count < Capacity)
            {
                _samples[_count++] = value;
            }
            else if (Random.Shared.NextInt64(_seen) < Capacity)
            {
                // Reservoir sampling keeps a uniform sample when more arrive than fit.
                _samples[Random.Shared.Next(Capacity)] = value;
            }
        }
    }

    public (double P50, double P99, int Count) TakePercentiles()
    {
        double[] sorted;
        lock (_lock)
        {
            sorted = _samples.AsSpan(0, _count).ToArray();
            _count = 0;
            _seen = 0;
        }

        if (sorted.Length == 0)
        {
            return (double.NaN, double.NaN, 0);
        }

        Array.Sort(sorted);
        return (At(sorted, 0.50), At(sorted, 0.99), sorted.Length);

        static double At(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }
}

/// <summary>Message totals of one topic.</summary>
public sealed class TopicCounters
{
    private long _received;
    private long _processed;
    private long _deadLettered;
    private long _forwarded;
    private long _duplicates;
    private long _published;

    internal TopicCounters(string topic) => Topic = topic;

    public string Topic { get; }

    public long Received => Volatile.Read(ref _received);

    public long Processed => Volatile.Read(ref _processed);

    public long DeadLettered => Volatile.Read(ref _deadLettered);

    public long Forwarded => Volatile.Read(ref _forwarded);

    public long Duplicates => Volatile.Read(ref _duplicates);

    public long Published => Volatile.Read(ref _published);

    internal void OnReceived() => Interlocked.Increment(ref _received);

    internal void OnProcessed() => Interlocked.Increment(ref _processed);

    internal void OnDeadLettered() => Interlocked.Increment(ref _deadLettered);

    internal void OnForwarded() => Interlocked.Increment(ref _forwarded);

    internal void OnDuplicate() => Interlocked.Increment(ref _duplicates);

    internal void OnPublished() => Interlocked.Increment(ref _published);
}
