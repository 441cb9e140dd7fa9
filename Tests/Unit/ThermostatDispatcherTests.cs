using System.Collections.Concurrent;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Hearth.Tests.Unit;

/// <summary>
/// The dispatcher hands a partition's delivery to the controllers: one call per thermostat with its inputs in partition
/// order, all at once, complete only when every call is; failing calls are made again, and dead-lettered once they have
/// failed for the maximum delivery time.
/// </summary>
public sealed class ThermostatDispatcherTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<(string Id, ThermostatInputs Inputs)> _calls = new();
    private readonly List<(IReadOnlyList<InputPosition> Positions, string Reason)> _deadLetters = [];
    private readonly ThermostatGrainOptions _options = new() { MaxDeliveryTime = TimeSpan.FromHours(1) };

    [Fact]
    public async Task ABatchOfManyThermostats_OneSlow_CompletesOnlyWhenAllHave_EachCalledOnceWithItsInputsInPartitionOrder()
    {
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = Dispatcher((id, _) => id == "t-7" ? slow.Task : Task.CompletedTask, new FakeTimeProvider());
        // 40 thermostats, interleaved as a partition interleaves them: thermostat i's inputs at offsets i, i+40, i+80...
        var inputs = Enumerable.Range(0, 200).Select(offset => Reading($"t-{offset % 40}", offset)).ToList();

        var delivery = dispatcher.DispatchAsync(inputs, "silo-a");

        Assert.Equal(40, _calls.Count);
        Assert.False(delivery.IsCompleted, "the delivery completed while thermostat t-7 had not applied its inputs");
        slow.SetResult();
        await delivery.WaitAsync(Timeout);

        Assert.Equal(40, _calls.Count);
        foreach (var (id, call) in _calls)
        {
            var expected = inputs.Where(i => i.Message.ThermostatId == id).Select(i => i.Position.Offset);
            Assert.Equal(expected, call.Items.Select(i => i.Position.Offset));
            Assert.Equal("silo-a", call.DeliveredBy);
        }
    }

    [Fact]
    public async Task AFailingCall_IsMadeAgainUntilItSucceeds_AndOnlyIt()
    {
        var failures = 2;
        var time = new FakeTimeProvider();
        var dispatcher = Dispatcher((id, _) => id == "t-1" && failures-- > 0 ? throw new TimeoutException("storage is slow") : Task.CompletedTask, time);

        await AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync([Reading("t-0", 0), Reading("t-1", 1), Reading("t-2", 2)], "silo-a"));

        Assert.Equal(["t-0", "t-1", "t-2", "t-1", "t-1"], _calls.Select(c => c.Id));
        Assert.Empty(_deadLetters);
        Assert.Equal(0, dispatcher.Failing);
    }

    [Fact]
    public async Task InputsWhoseControllerKeepsFailing_AreDeadLetteredAfterTheMaximumDeliveryTime_AndTheDeliveryCompletes()
    {
        _options.MaxDeliveryTime = TimeSpan.FromSeconds(3);
        var time = new FakeTimeProvider();
        var dispatcher = Dispatcher((id, _) => id == "t-1" ? throw new InvalidOperationException("the controller is broken") : Task.CompletedTask, time);

        await AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync([Reading("t-0", 0), Reading("t-1", 1), Reading("t-2", 2), Reading("t-1", 3)], "silo-a"));

        var (positions, reason) = Assert.Single(_deadLetters);
        Assert.Equal([1L, 3L], positions.Select(p => p.Offset));
        Assert.Contains("thermostat 't-1'", reason, StringComparison.Ordinal);
        Assert.Contains("the controller is broken", reason, StringComparison.Ordinal);
        Assert.Equal(1, _calls.Count(c => c.Id == "t-0"));
        // Called again, backing off, until the maximum delivery time had passed: not before it.
        Assert.InRange(time.GetUtcNow() - Start, _options.MaxDeliveryTime, _options.MaxDeliveryTime + ThermostatDispatcher.MaxBackoff * 2);
        Assert.Equal(0, dispatcher.Failing);
    }

    [Fact]
    public async Task ADeliveryThatCannotFinishInItsTime_Fails_AndARepeatRemembersHowLongItsInputsHaveBeenFailing()
    {
        var time = new FakeTimeProvider();
        var dispatcher = Dispatcher((id, _) => id == "t-1" ? throw new TimeoutException("storage is down") : Task.CompletedTask, time,
            deliveryBudget: TimeSpan.FromSeconds(5));
        ThermostatInput[] batch = [Reading("t-0", 0), Reading("t-1", 1)];

        var failure = await Assert.ThrowsAsync<TimeoutException>(() => AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync(batch, "silo-a")));
        Assert.Contains("1 of 2 controllers", failure.Message, StringComparison.Ordinal);
        Assert.InRange(time.GetUtcNow() - Start, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Empty(_deadLetters);
        Assert.Equal(1, dispatcher.Failing);

        // Delivered again (by the pulling agent) once the maximum delivery time has passed since the first failure.
        _options.MaxDeliveryTime = TimeSpan.FromSeconds(8);
        time.Advance(TimeSpan.FromSeconds(4));
        await AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync(batch, "silo-a"));
        Assert.Equal([1L], Assert.Single(_deadLetters).Positions.Select(p => p.Offset));
        Assert.InRange(time.GetUtcNow() - Start, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(8) + ThermostatDispatcher.MaxBackoff * 2);
    }

    private static readonly DateTimeOffset Start = new FakeTimeProvider().GetUtcNow();

    /// <summary>Moves time on in small steps (firing the dispatcher's backoff timers) until <paramref name="delivery"/> is done.</summary>
    private static async Task AdvanceUntilDoneAsync(FakeTimeProvider time, Task delivery)
    {
        for (var step = 0; !delivery.IsCompleted && step < 10_000; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Yield();
        }

        await delivery.WaitAsync(Timeout);
    }

    private ThermostatDispatcher Dispatcher(Func<string, ThermostatInputs, Task> apply, TimeProvider? time = null, TimeSpan? deliveryBudget = null) =>
        new((id, inputs) =>
            {
                _calls.Enqueue((id, inputs));
                return apply(id, inputs);
            },
            new RecordingDeadLetters(_deadLetters),
            Options.Create(_options),
            time ?? TimeProvider.System,
            NullLogger<ThermostatDispatcher>.Instance,
            deliveryBudget ?? TimeSpan.FromSeconds(20));

    private static ThermostatInput Reading(string id, long offset) =>
        new(new ThermostatReading(id, 20, DateTimeOffset.UnixEpoch), new InputPosition("readings", 3, offset, ""), DateTimeOffset.UnixEpoch);

    private sealed class RecordingDeadLetters(List<(IReadOnlyList<InputPosition>, string)> letters) : IInputDeadLetters
    {
        public Task DeadLetterAsync(IReadOnlyList<InputPosition> positions, string reason, CancellationToken cancellationToken = default)
        {
            lock (letters)
            {
                letters.Add((positions, reason));
            }

            return Task.CompletedTask;
        }
    }
}
