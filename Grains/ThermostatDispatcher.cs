using System.Collections.Concurrent;
using Hearth.Grains.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Grains;

/// <summary>
/// Hands what one delivery of a partition brings to the thermostats' controllers: groups the inputs by thermostat,
/// keeping the partition's order, calls each controller once with its inputs, all at once, and completes only when
/// every controller has applied them. A controller whose call fails is called again, backing off; inputs whose
/// controller keeps failing for <see cref="ThermostatGrainOptions.MaxDeliveryTime"/> are dead-lettered.
/// </summary>
/// <remarks>
/// <para>One per silo. A delivery that cannot finish within <see cref="DeliveryBudget"/> fails with what is left
/// undone, and the pulling agent delivers it again (the controllers skip what they applied the first time): the
/// agent's call to the dispatcher times out after Orleans' response timeout, and a delivery must never run beside its
/// own repeat. How long a thermostat's inputs have been failing is remembered across those repeats.</para>
/// <para>Ordering: the agent delivers a partition's batches one after another, so a controller is given a batch's
/// inputs only after it applied the previous batch's.</para>
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
    private readonly ConcurrentDictionary<(string ThermostatId, InputPosition First), long> _failingSince = new();

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

    /// <summary>Thermostats whose inputs are failing now (remembered across deliveries until they succeed or are dead-lettered).</summary>
    public int Failing => _failingSince.Count;

    /// <summary>Applies <paramref name="inputs"/> (one partition's, in its order) and completes once every controller has.</summary>
    /// <param name="deliveredBy">The silo that read them (see <see cref="ThermostatInputs.DeliveredBy"/>).</param>
    /// <exception cref="TimeoutException">Some controllers had not applied their inputs within <see cref="DeliveryBudget"/>.</exception>
    public async Task DispatchAsync(IReadOnlyList<ThermostatInput> inputs, string deliveredBy)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var started = _time.GetTimestamp();
        var calls = Group(inputs, deliveredBy);
        var total = calls.Count;
        for (var attempt = 0; ; attempt++)
        {
            var remaining = TimeSpan.FromTicks(Math.Max(0, (DeliveryBudget - _time.GetElapsedTime(started)).Ticks));
            try
            {
                await Task.WhenAll(calls.Select(RunAsync)).WaitAsync(remaining, _time);
            }
            catch (TimeoutException)
            {
                throw Unfinished(calls.Count(c => !c.Done), total, inputs[0].Position, null);
            }

            var failed = calls.Where(c => c.Failure is not null).ToList();
            if (failed.Count == 0)
            {
                return;
            }

            if (attempt == 0)
            {
                LogFailing(_logger, failed.Count, total, inputs[0].Position.Source, inputs[0].Position.Partition, failed[0].Failure!);
            }

            calls = await DeadLetterOverdueAsync(failed);
            if (calls.Count == 0)
            {
                return;
            }

            var pause = Backoff(attempt);
            if (_time.GetElapsedTime(started) + pause >= DeliveryBudget)
            {
                throw Unfinished(calls.Count, total, inputs[0].Position, calls[0].Failure);
            }

            await Task.Delay(pause, _time);
        }
    }

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
            if (!_failingSince.IsEmpty)
            {
                _failingSince.TryRemove((call.ThermostatId, call.First), out _);
            }
        }
        catch (Exception e)
        {
            call.Failure = e;
            call.Done = true;
            _failingSince.TryAdd((call.ThermostatId, call.First), _time.GetTimestamp());
        }
    }

    /// <summary>Dead-letters the inputs of the calls failing for longer than the maximum delivery time; returns the others.</summary>
    private async Task<List<Call>> DeadLetterOverdueAsync(List<Call> failed)
    {
        var maximum = _options.Value.MaxDeliveryTime;
        var retry = new List<Call>(failed.Count);
        foreach (var call in failed)
        {
            if (!_failingSince.TryGetValue((call.ThermostatId, call.First), out var since) || _time.GetElapsedTime(since) < maximum)
            {
                call.Done = false;
                retry.Add(call);
                continue;
            }

            var reason = $"applying it to the controller of thermostat '{call.ThermostatId}' kept failing for {maximum} " +
                         $"(the last failure: {call.Failure!.GetType().Name}: {call.Failure.Message})";
            LogDeadLettering(_logger, call.ThermostatId, call.Inputs.Items.Length, maximum, call.Failure);
            await _deadLetters.DeadLetterAsync(call.Inputs.Items.Select(i => i.Position).ToList(), reason);
            _failingSince.TryRemove((call.ThermostatId, call.First), out _);
        }

        return retry;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Failed} of {Controllers} controllers failed to apply their inputs of {Topic}[{Partition}]; calling them again until they do")]
    private static partial void LogFailing(ILogger logger, int failed, int controllers, string topic, int partition, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Thermostat {ThermostatId}: applying {Count} inputs kept failing for {MaxDeliveryTime}; they are dead-lettered")]
    private static partial void LogDeadLettering(ILogger logger, string thermostatId, int count, TimeSpan maxDeliveryTime, Exception exception);
}
