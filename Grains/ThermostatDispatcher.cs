using System.Collections.Concurrent;
using System.Data.Common;
using System.Net.Sockets;
using Hearth.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Hearth.Grains;

/// <summary>
/// Hands what one delivery of a partition brings to the thermostats' controllers: groups the inputs by thermostat,
/// keeping the partition's order, calls each controller once with its inputs, all at once, and completes only when
/// every controller has applied them. A controller whose call fails is called again, backing off: for as long as it
/// takes when the failure is the infrastructure's (storage, Kafka, the cluster, a timeout: the partition waits), and
/// <see cref="ThermostatGrainOptions.MaxAttempts"/> times when it is the controller's own, after which its inputs are
/// dead-lettered.
/// </summary>
/// <remarks>
/// <para>One per silo. A delivery that cannot finish within <see cref="DeliveryBudget"/> fails with what is left
/// undone, and the pulling agent delivers it again (the controllers skip what they applied the first time): the
/// agent's call to the dispatcher times out after Orleans' response timeout, and a delivery must never run beside its
/// own repeat. How often a thermostat's inputs have failed is remembered across those repeats.</para>
/// <para>Ordering: the agent delivers a partition's batches one after another, so a controller is given a batch's
/// inputs only after it applied the previous batch's.</para>
/// <para>A partition whose delivery fails is <em>stalled</em> (<see cref="Stalls"/>) until one succeeds: that is logged
/// once when it starts and once when it ends, and shown by the silo's health and the cluster view.</para>
/// </remarks>
public sealed partial class ThermostatDispatcher
{
    /// <summary>The first pause before a failed controller call is made again; it doubles up to <see cref="MaxBackoff"/>.</summary>
    public static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly Func<string, ThermostatInputs, Task> _apply;
    private readonly IInputDeadLetters _deadLetters;
    private readonly IOptions<ThermostatGrainOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string ThermostatId, InputPosition First), int> _faults = new();
    private readonly ConcurrentDictionary<(string Source, int Partition), PartitionStall> _stalls = new();

    /// <param name="apply">Calls the controller of a thermostat id with its inputs.</param>
    /// <param name="deliveryBudget">How long one delivery may take (see <see cref="DeliveryBudget"/>).</param>
    public ThermostatDispatcher(
        Func<string, ThermostatInputs, Task> apply, IInputDeadLetters deadLetters, IOptions<ThermostatGrainOptions> options, TimeProvider time,
        ILogger<ThermostatDispatcher> logger, TimeSpan deliveryBudget)
    {
        _apply = apply;
        _deadLetters = deadLetters;
        _options = options;
        _time = time;
        _logger = logger;
        DeliveryBudget = deliveryBudget;
    }

    /// <summary>
    /// How long one delivery may go on before it fails and is delivered again: a little under Orleans' response
    /// timeout, which bounds the pulling agent's call.
    /// </summary>
    public TimeSpan DeliveryBudget { get; }

    /// <summary>Thermostats whose inputs failed for a reason of their controller's own, not yet applied or dead-lettered.</summary>
    public int Failing => _faults.Count;

    /// <summary>
    /// The partitions whose deliveries are failing now on this silo, with why and since when. A stalled partition's
    /// delivery is repeated within seconds; one not heard of for <see cref="StallForgottenAfter"/> has left this silo.
    /// </summary>
    public IReadOnlyList<PartitionStall> Stalls
    {
        get
        {
            var now = _time.GetUtcNow();
            foreach (var stall in _stalls.Values.Where(s => now - s.LastFailure > StallForgottenAfter))
            {
                _stalls.TryRemove(new KeyValuePair<(string, int), PartitionStall>((stall.Source, stall.Partition), stall));
            }

            return [.. _stalls.Values.OrderBy(s => s.Source, StringComparer.Ordinal).ThenBy(s => s.Partition)];
        }
    }

    private static readonly TimeSpan StallForgottenAfter = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Whether <paramref name="failure"/> is the infrastructure's (storage, Kafka, the cluster, a timeout), waited out
    /// however long it lasts, rather than the controller's own, which is tried <see cref="ThermostatGrainOptions.MaxAttempts"/>
    /// times.
    /// </summary>
    public static bool IsTransient(Exception failure) => failure switch
    {
        TimeoutException or OperationCanceledException or ObjectDisposedException => true,
        InconsistentStateException => true,
        DbException or SocketException or IOException => true,
        SiloUnavailableException or OrleansMessageRejectionException or ClientNotAvailableException => true,
        _ when failure.GetType().Namespace?.StartsWith("Confluent.Kafka", StringComparison.Ordinal) == true => true,
        _ when failure.GetType().Namespace?.StartsWith("Npgsql", StringComparison.Ordinal) == true => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(IsTransient),
        _ => failure.InnerException is { } inner && IsTransient(inner),
    };

    /// <summary>Applies <paramref name="inputs"/> (one partition's, in its order) and completes once every controller has.</summary>
    /// <param name="deliveredBy">The silo that read them (see <see cref="ThermostatInputs.DeliveredBy"/>).</param>
    /// <exception cref="TimeoutException">Some controllers had not applied their inputs within <see cref="DeliveryBudget"/>.</exception>
    public async Task DispatchAsync(IReadOnlyList<ThermostatInput> inputs, string deliveredBy)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0)
        {
            return;
        }

        var started = _time.GetTimestamp();
        var at = inputs[0].Position;
        var calls = Group(inputs, deliveredBy);
        var total = calls.Count;
        for (var attempt = 0; ; attempt++)
        {
            var remaining = Remaining(started);
            try
            {
                await Task.WhenAll(calls.Select(RunAsync)).WaitAsync(remaining, _time);
            }
            catch (TimeoutException)
            {
                var unfinished = Unfinished(calls.Count(c => !c.Done), total, at, null);
                Stalled(at, unfinished);
                throw unfinished;
            }

            var failed = calls.Where(c => c.Failure is not null).ToList();
            if (failed.Count == 0)
            {
                Resumed(at);
                return;
            }

            Stalled(at, failed[0].Failure!);
            calls = await DeadLetterHopelessAsync(failed, at, started);
            if (calls.Count == 0)
            {
                Resumed(at);
                return;
            }

            var pause = Backoff(attempt);
            if (_time.GetElapsedTime(started) + pause >= DeliveryBudget)
            {
                throw Unfinished(calls.Count, total, at, calls[0].Failure);
            }

            await Task.Delay(pause, _time);
        }
    }

    /// <summary>What is left of <see cref="DeliveryBudget"/> for the delivery that started at <paramref name="started"/>.</summary>
    private TimeSpan Remaining(long started) => TimeSpan.FromTicks(Math.Max(0, (DeliveryBudget - _time.GetElapsedTime(started)).Ticks));

    private static TimeoutException Unfinished(int unfinished, int of, InputPosition at, Exception? failure) =>
        new($"{unfinished} of {of} controllers had not applied their inputs of {at.Source}[{at.Partition}] from offset {at.Offset} " +
            $"within the delivery's time{(failure is null ? "" : $"; the last failure: {failure.GetType().Name}: {failure.Message}")}. " +
            "The delivery is repeated.");

    private static List<Call> Group(IReadOnlyList<ThermostatInput> inputs, string deliveredBy)
    {
        var byThermostat = new Dictionary<string, List<ThermostatInput>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var input in inputs)
        {
            var id = input.Message.ThermostatId;
            if (!byThermostat.TryGetValue(id, out var ofThermostat))
            {
                byThermostat[id] = ofThermostat = new List<ThermostatInput>(4);
                order.Add(id);
            }

            ofThermostat.Add(input);
        }

        return order.ConvertAll(id => new Call(id, new ThermostatInputs([.. byThermostat[id]], deliveredBy)));
    }

    private async Task RunAsync(Call call)
    {
        try
        {
            await _apply(call.ThermostatId, call.Inputs);
            call.Failure = null;
            call.Done = true;
            if (!_faults.IsEmpty)
            {
                _faults.TryRemove((call.ThermostatId, call.First), out _);
            }
        }
        catch (Exception e)
        {
            call.Failure = e;
            call.Done = true;
            if (!IsTransient(e))
            {
                _faults.AddOrUpdate((call.ThermostatId, call.First), 1, (_, attempts) => attempts + 1);
            }
        }
    }

    /// <summary>Dead-letters the inputs of the calls that failed for their own reason as often as allowed; returns the others.</summary>
    /// <exception cref="TimeoutException">The dead letters were not written within <see cref="DeliveryBudget"/>.</exception>
    private async Task<List<Call>> DeadLetterHopelessAsync(List<Call> failed, InputPosition at, long started)
    {
        var maximum = _options.Value.MaxAttempts;
        var retry = new List<Call>(failed.Count);
        foreach (var call in failed)
        {
            if (!_faults.TryGetValue((call.ThermostatId, call.First), out var attempts) || attempts < maximum)
            {
                call.Done = false;
                retry.Add(call);
                continue;
            }

            var reason = $"the controller of thermostat '{call.ThermostatId}' failed to apply it {attempts} times " +
                         $"(the last failure: {call.Failure!.GetType().Name}: {call.Failure.Message})";
            LogDeadLettering(_logger, call.ThermostatId, call.Inputs.Items.Length, attempts, call.Failure);
            var remaining = Remaining(started);
            try
            {
                await _deadLetters.DeadLetterAsync(call.Inputs.Items.Select(i => i.Position).ToList(), reason).WaitAsync(remaining, _time);
            }
            catch (TimeoutException)
            {
                // Kafka does not take them (the dead-letter topic refuses, say): the delivery is repeated, as for any
                // infrastructure failure, and its repeat waits for the same dead letters instead of writing them again.
                var late = new TimeoutException(
                    $"The dead letters of thermostat '{call.ThermostatId}''s inputs of {at.Source}[{at.Partition}] were not written within " +
                    "the delivery's time. The delivery is repeated.");
                Stalled(at, late);
                throw late;
            }

            _faults.TryRemove((call.ThermostatId, call.First), out _);
        }

        return retry;
    }

    private void Stalled(InputPosition at, Exception failure)
    {
        var key = (at.Source, at.Partition);
        var now = _time.GetUtcNow();
        var reason = $"{failure.GetType().Name}: {failure.Message}";
        var started = new PartitionStall(at.Source, at.Partition, now, reason, now);
        if (_stalls.TryAdd(key, started))
        {
            LogStalled(_logger, at.Source, at.Partition, reason, failure);
        }
        else
        {
            _stalls.AddOrUpdate(key, started, (_, stall) => stall with { Reason = reason, LastFailure = now });
        }
    }

    private void Resumed(InputPosition at)
    {
        if (!_stalls.IsEmpty && _stalls.TryRemove((at.Source, at.Partition), out var stall))
        {
            LogResumed(_logger, at.Source, at.Partition, (long)(_time.GetUtcNow() - stall.Since).TotalSeconds);
        }
    }

    private static TimeSpan Backoff(int attempt)
    {
        var milliseconds = MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 10));
        return TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, milliseconds) * (0.75 + (Random.Shared.NextDouble() / 2)));
    }

    /// <summary>One controller's share of a delivery.</summary>
    private sealed class Call(string thermostatId, ThermostatInputs inputs)
    {
        public string ThermostatId { get; } = thermostatId;

        public ThermostatInputs Inputs { get; } = inputs;

        /// <summary>The first input: with the thermostat, what names this share across repeats of the delivery.</summary>
        public InputPosition First => Inputs.Items[0].Position;

        public bool Done { get; set; }

        public Exception? Failure { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Partition {Topic}[{Partition}] waits: its controllers fail to apply its inputs ({Reason}); they are called again until they do")]
    private static partial void LogStalled(ILogger logger, string topic, int partition, string reason, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Partition {Topic}[{Partition}] goes on: its inputs are applied again after {Seconds} s")]
    private static partial void LogResumed(ILogger logger, string topic, int partition, long seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Thermostat {ThermostatId}: its controller failed to apply {Count} inputs {Attempts} times, for a reason of its own; they are dead-lettered")]
    private static partial void LogDeadLettering(ILogger logger, string thermostatId, int count, int attempts, Exception exception);
}

/// <summary>A partition whose deliveries are failing: since when, the last reason and when it last failed.</summary>
public sealed record PartitionStall(string Source, int Partition, DateTimeOffset Since, string Reason, DateTimeOffset LastFailure);
