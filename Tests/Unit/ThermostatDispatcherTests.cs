using System.Collections.Concurrent;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Hearth.Tests.Infrastructure;

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
    private readonly ThermostatGrainOptions _options = new() { MaxAttempts = 3 };
    private Task _deadLettersWritten = Task.CompletedTask;

    [Fact]
    public async Task ABatchOfManyThermostats_OneSlow_CompletesOnlyWhenAllHave_EachCalledOnceWithItsInputsInPartitionOrder()
    {
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = Dispatcher((id, _) => id == "t-7" ? slow.Task : Task.CompletedTask, new SignallingTimeProvider());
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
        var time = new SignallingTimeProvider();
        var dispatcher = Dispatcher((id, _) => id == "t-1" && failures-- > 0 ? throw new TimeoutException("storage is slow") : Task.CompletedTask, time);

        await AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync([Reading("t-0", 0), Reading("t-1", 1), Reading("t-2", 2)], "silo-a"));

        Assert.Equal(["t-0", "t-1", "t-2", "t-1", "t-1"], _calls.Select(c => c.Id));
        Assert.Empty(_deadLetters);
        Assert.Equal(0, dispatcher.Failing);
    }

    [Fact]
    public async Task InputsWhoseControllerFailsForItsOwnReason_AreDeadLetteredAfterMaxAttempts_AndTheDeliveryCompletes()
    {
        var time = new SignallingTimeProvider();
        var dispatcher = Dispatcher((id, _) => id == "t-1" ? throw new InvalidOperationException("the controller is broken") : Task.CompletedTask, time);

        await AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync([Reading("t-0", 0), Reading("t-1", 1), Reading("t-2", 2), Reading("t-1", 3)], "silo-a"));

        var (positions, reason) = Assert.Single(_deadLetters);
        Assert.Equal([1L, 3L], positions.Select(p => p.Offset));
        Assert.Contains("thermostat 't-1' failed to apply it 3 times", reason, StringComparison.Ordinal);
        Assert.Contains("the controller is broken", reason, StringComparison.Ordinal);
        Assert.Equal(3, _calls.Count(c => c.Id == "t-1"));
        Assert.Equal(1, _calls.Count(c => c.Id == "t-0"));
        Assert.Equal(0, dispatcher.Failing);
        Assert.Empty(dispatcher.Stalls);
    }

    [Fact]
    public async Task InfrastructureFailures_AreWaitedOut_NeverDeadLettered_AndThePartitionShowsStalledUntilTheyEnd()
    {
        var time = new SignallingTimeProvider();
        var storageDown = true;
        var dispatcher = Dispatcher((id, _) => id == "t-1" && storageDown ? throw new TimeoutException("storage does not answer") : Task.CompletedTask, time,
            deliveryBudget: TimeSpan.FromSeconds(5));
        ThermostatInput[] batch = [Reading("t-0", 0), Reading("t-1", 1)];

        // Each delivery gives up after its time and is delivered again, far past MaxAttempts calls: nothing is dead-lettered.
        for (var repeat = 0; repeat < 4; repeat++)
        {
            var failure = await Assert.ThrowsAsync<TimeoutException>(() => AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync(batch, "silo-a")));
            Assert.Contains("1 of 2 controllers", failure.Message, StringComparison.Ordinal);
        }

        Assert.True(_calls.Count(c => c.Id == "t-1") > 4 * _options.MaxAttempts);
        Assert.Empty(_deadLetters);
        var stall = Assert.Single(dispatcher.Stalls);
        Assert.Equal(("readings", 3), (stall.Source, stall.Partition));
        Assert.Contains("storage does not answer", stall.Reason, StringComparison.Ordinal);

        storageDown = false;
        await AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync(batch, "silo-a"));
        Assert.Empty(dispatcher.Stalls);
        Assert.Empty(_deadLetters);
    }

    [Fact]
    public async Task DeadLettersKafkaDoesNotTake_FailTheDeliveryWithinItsTime_StallingThePartition_UntilARepeatFindsThemWritten()
    {
        var time = new SignallingTimeProvider();
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _deadLettersWritten = written.Task;
        var dispatcher = Dispatcher((id, _) => id == "t-1" ? throw new InvalidOperationException("the controller is broken") : Task.CompletedTask, time,
            deliveryBudget: TimeSpan.FromSeconds(5));
        ThermostatInput[] batch = [Reading("t-0", 0), Reading("t-1", 1)];

        // The dead letters are not written (the dead-letter topic refuses): the delivery fails within its time, and is repeated.
        var failure = await Assert.ThrowsAsync<TimeoutException>(() => AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync(batch, "silo-a")));
        Assert.Contains("dead letters of thermostat 't-1''s inputs of readings[3] were not written", failure.Message, StringComparison.Ordinal);
        var stall = Assert.Single(dispatcher.Stalls);
        Assert.Contains("were not written", stall.Reason, StringComparison.Ordinal);

        // Once Kafka takes them, the repeat (which asks for the same dead letters: the provider waits for those it has) completes.
        written.SetResult();
        await AdvanceUntilDoneAsync(time, dispatcher.DispatchAsync(batch, "silo-a"));
        Assert.Equal([[1L], [1L]], _deadLetters.Select(d => d.Positions.Select(p => p.Offset)));
        Assert.Empty(dispatcher.Stalls);
        Assert.Equal(0, dispatcher.Failing);
    }

    [Theory]
    [InlineData(typeof(TimeoutException), true)]
    [InlineData(typeof(Orleans.Storage.InconsistentStateException), true)]
    [InlineData(typeof(Orleans.Runtime.SiloUnavailableException), true)]
    [InlineData(typeof(Confluent.Kafka.KafkaException), true)]
    [InlineData(typeof(Npgsql.NpgsqlException), true)]
    [InlineData(typeof(Microsoft.Data.Sqlite.SqliteException), true)]
    [InlineData(typeof(ObjectDisposedException), true)]
    [InlineData(typeof(InvalidOperationException), false)]
    [InlineData(typeof(NullReferenceException), false)]
    [InlineData(typeof(System.Text.Json.JsonException), false)]
    public void Failures_AreTheInfrastructures_OrTheControllersOwn(Type type, bool transient)
    {
        var failure = type == typeof(Confluent.Kafka.KafkaException) ? new Confluent.Kafka.KafkaException(Confluent.Kafka.ErrorCode.Local_Transport)
            : type == typeof(Microsoft.Data.Sqlite.SqliteException) ? new Microsoft.Data.Sqlite.SqliteException("database is locked", 5)
            : type == typeof(ObjectDisposedException) ? new ObjectDisposedException("storage")
            : (Exception)Activator.CreateInstance(type, "failed")!;

        Assert.Equal(transient, ThermostatDispatcher.IsTransient(failure));
        Assert.Equal(transient, ThermostatDispatcher.IsTransient(new InvalidOperationException("wrapped", failure)));
    }

    /// <summary>Moves time on each time the dispatcher waits (its backoff), by as long as it waits, until <paramref name="delivery"/> is done.</summary>
    private static Task AdvanceUntilDoneAsync(SignallingTimeProvider time, Task delivery) => time.RunAsync(delivery, Timeout);

    private ThermostatDispatcher Dispatcher(Func<string, ThermostatInputs, Task> apply, TimeProvider? time = null, TimeSpan? deliveryBudget = null) =>
        new((id, inputs) =>
            {
                _calls.Enqueue((id, inputs));
                return apply(id, inputs);
            },
            new RecordingDeadLetters(_deadLetters, () => _deadLettersWritten),
            Options.Create(_options),
            time ?? TimeProvider.System,
            NullLogger<ThermostatDispatcher>.Instance,
            deliveryBudget ?? TimeSpan.FromSeconds(20));

    private static ThermostatInput Reading(string id, long offset) =>
        new(new ThermostatReading(id, 20, DateTimeOffset.UnixEpoch), new InputPosition("readings", 3, offset, ""), DateTimeOffset.UnixEpoch);

    /// <summary>Records what is dead-lettered; the dead letters are written when <paramref name="written"/>'s task completes.</summary>
    private sealed class RecordingDeadLetters(List<(IReadOnlyList<InputPosition>, string)> letters, Func<Task> written) : IInputDeadLetters
    {
        public Task DeadLetterAsync(IReadOnlyList<InputPosition> positions, string reason, CancellationToken cancellationToken = default)
        {
            lock (letters)
            {
                letters.Add((positions, reason));
            }

            return written();
        }
    }
}
