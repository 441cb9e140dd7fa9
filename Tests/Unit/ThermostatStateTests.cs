using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Hearth.Tests.Unit;

/// <summary>The controller's duplicate check: an input at or below the stored offset of its stream and partition is skipped.</summary>
public sealed class ThermostatStateTests
{
    private static InputPosition At(string topic, int partition, long offset, string log = "") => new(topic, partition, offset, log);

    [Fact]
    public void AnInputIsAppliedOnce_PerSourcePartition()
    {
        var state = new ThermostatState();

        Assert.True(state.Advance(At("readings", 0, 5)));
        Assert.False(state.Advance(At("readings", 0, 5)));
        Assert.False(state.Advance(At("readings", 0, 4)));
        Assert.True(state.Advance(At("readings", 0, 6)));
        // Another partition, another topic's same partition: their own positions.
        Assert.True(state.Advance(At("readings", 1, 0)));
        Assert.True(state.Advance(At("settings", 0, 5)));
        Assert.Equal(3, state.Applied.Count);
    }

    [Fact]
    public void AnInputOfAnotherLogOfItsPartition_StartsThatPartitionOver()
    {
        var state = new ThermostatState();
        state.Advance(At("readings", 0, 500, "topic-id-1"));
        state.Advance(At("settings", 0, 70, "topic-id-1"));

        // The readings topic was created again: its offsets start over, the settings topic's stand.
        Assert.True(state.Advance(At("readings", 0, 3, "topic-id-2")));
        Assert.False(state.Advance(At("readings", 0, 3, "topic-id-2")));
        Assert.False(state.Advance(At("settings", 0, 70, "topic-id-1")));
        Assert.Equal([At("readings", 0, 3, "topic-id-2"), At("settings", 0, 70, "topic-id-1")], state.Applied);
    }

    [Fact]
    public void AnInputWithoutALog_CountsInTheSameLifeAsAnyOther_AndANamedLogTakesItsPlace()
    {
        // Applied before the silos knew the topic's id.
        var state = new ThermostatState();
        state.Advance(At("readings", 0, 500));

        // Read by topic id since: the same life, whose offsets compare as before; the id takes the empty log's place.
        Assert.False(state.Advance(At("readings", 0, 500, "topic-id-1")));
        Assert.True(state.Advance(At("readings", 0, 501, "topic-id-1")));
        Assert.Equal([At("readings", 0, 501, "topic-id-1")], state.Applied);

        // Read without an id again (by a silo that has not read the ids yet): still the same life, and the id stays.
        Assert.False(state.Advance(At("readings", 0, 501)));
        Assert.True(state.Advance(At("readings", 0, 502)));
        Assert.Equal([At("readings", 0, 502, "topic-id-1")], state.Applied);

        // A state that applied more by topic id carries on from one stored without it.
        var stored = new ThermostatState();
        stored.Advance(At("readings", 0, 490));
        Assert.True(state.Extends(stored));

        // Only another named life starts the partition over.
        Assert.True(state.Advance(At("readings", 0, 3, "topic-id-2")));
    }

    [Fact]
    public void AFormatOneState_CarriesItsPositionsOver()
    {
        var state = new ThermostatState
        {
            Format = 1,
            Positions = new() { ["thermostat-readings|readings/3"] = 41, ["thermostat-settings|settings/0"] = 7 },
            Incarnation = "broker-1",
        };

        state.Upgrade();

        Assert.Equal(ThermostatState.CurrentFormat, state.Format);
        Assert.Null(state.Positions);
        Assert.False(state.Advance(At("readings", 3, 41, "broker-1")));
        Assert.True(state.Advance(At("readings", 3, 42, "broker-1")));
        Assert.False(state.Advance(At("settings", 0, 7, "broker-1")));
    }

    [Fact]
    public void TheStateCrossesSilos_WithOrleansSerializer()
    {
        // The activation rebalancer moves a controller by dehydrating its state with Orleans' serializer.
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var at = new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
        var state = new ThermostatState
        {
            Temperature = 21,
            UpDelta = 0.5,
            DownDelta = 1,
            LastMeasurement = 19.5,
            LastReadingAt = at,
            Heater = HeaterAction.On,
            Seq = 7,
            LastCommandAt = at,
            RecentCommands = [new RecentCommand(HeaterAction.On, 19.5, 21, 7, at)],
        };
        state.Advance(At("readings", 3, 41, "broker-1"));

        var copy = serializer.Deserialize<ThermostatState>(serializer.SerializeToArray(state))!;

        Assert.Equal((21d, 0.5, 1d, 19.5, at, HeaterAction.On, 7L, at), (copy.Temperature, copy.UpDelta, copy.DownDelta, copy.LastMeasurement, copy.LastReadingAt, copy.Heater, copy.Seq, copy.LastCommandAt));
        Assert.Equal(state.RecentCommands, copy.RecentCommands);
        Assert.False(copy.Advance(At("readings", 3, 41, "broker-1")));
        Assert.True(copy.Advance(At("readings", 3, 42, "broker-1")));
    }

    private static readonly DateTimeOffset Now = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    /// <summary>A state that applied readings up to <paramref name="readings"/> and settings up to <paramref name="settings"/> on partition 0.</summary>
    private static ThermostatState Applied(long readings, long settings, params RecentCommand[] commands)
    {
        var state = new ThermostatState { RecentCommands = [.. commands], Seq = commands.Length > 0 ? commands[^1].Seq : 0 };
        state.Advance(At("readings", 0, readings, "b"));
        state.Advance(At("settings", 0, settings, "b"));
        return state;
    }

    [Fact]
    public void AStateThatAppliedMore_OfTheSameInputs_ExtendsTheStoredOne()
    {
        var on = new RecentCommand(HeaterAction.On, 19, 21, 1, Now);
        var off = new RecentCommand(HeaterAction.Off, 22, 21, 2, Now.AddMinutes(1));

        Assert.True(Applied(20, 3, on, off).Extends(Applied(10, 3, on)));
        Assert.True(Applied(10, 3, on).Extends(Applied(10, 3, on)));
        Assert.True(Applied(1, 0).Extends(new ThermostatState()));
    }

    [Fact]
    public void AStateBehindOnAnyPartition_OrWithOtherCommands_DoesNotExtendTheStoredOne()
    {
        var on = new RecentCommand(HeaterAction.On, 19, 21, 1, Now);
        var otherOn = on with { Measurement = 18.5 };

        Assert.False(Applied(20, 3, on).Extends(Applied(10, 4, on)));  // the stored state applied a setting this one lacks
        Assert.False(Applied(20, 3, otherOn).Extends(Applied(10, 3, on)));  // command 1 differs: the two decided apart
        Assert.False(Applied(20, 3).Extends(Applied(10, 3, on)));  // the stored state commanded more
        var elsewhere = new ThermostatState { RecentCommands = [on], Seq = 1 };
        elsewhere.Advance(At("readings", 0, 20, "a"));
        elsewhere.Advance(At("settings", 0, 3, "a"));
        Assert.False(elsewhere.Extends(Applied(10, 3, on)));  // the same offsets of another life of the topics
    }

    [Fact]
    public void AStateWhoseMemoryStartsAfterTheStoredCommands_CannotBeCompared()
    {
        var commands = Enumerable.Range(1, 12).Select(i => new RecentCommand(i % 2 == 1 ? HeaterAction.On : HeaterAction.Off, 20, 21, i, Now.AddMinutes(i))).ToArray();
        var stored = Applied(10, 3, commands[..2]);

        Assert.False(Applied(90, 3, commands[^5..]).Extends(stored));
        Assert.True(Applied(30, 3, commands[..6][^5..]).Extends(stored));
    }
}
