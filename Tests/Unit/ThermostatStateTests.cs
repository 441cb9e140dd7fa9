using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Hearth.Tests.Unit;

/// <summary>The controller's duplicate check: an input at or below the stored offset of its stream and partition is skipped.</summary>
public sealed class ThermostatStateTests
{
    [Fact]
    public void AnInputIsAppliedOnce_PerStreamAndPartition()
    {
        var state = new ThermostatState();

        Assert.True(state.Advance("readings", "t", 0, 5, ""));
        Assert.False(state.Advance("readings", "t", 0, 5, ""));
        Assert.False(state.Advance("readings", "t", 0, 4, ""));
        Assert.True(state.Advance("readings", "t", 0, 6, ""));
        // Another partition, another stream on the same partition: their own positions.
        Assert.True(state.Advance("readings", "t", 1, 0, ""));
        Assert.True(state.Advance("settings", "t", 0, 5, ""));
    }

    [Fact]
    public void PositionsOfAnotherLogIncarnation_AreForgotten()
    {
        var state = new ThermostatState();
        state.Advance("readings", "t", 0, 500, "broker-1");

        Assert.True(state.Advance("readings", "t", 0, 3, "broker-2"));
        Assert.Equal("broker-2", state.Incarnation);
        Assert.Equal(3, Assert.Single(state.Positions).Value);
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
            Incarnation = "broker-1",
        };
        state.Advance("readings", "t", 3, 41, "broker-1");

        var copy = serializer.Deserialize<ThermostatState>(serializer.SerializeToArray(state))!;

        Assert.Equal((21d, 0.5, 1d, 19.5, at, HeaterAction.On, 7L, at), (copy.Temperature, copy.UpDelta, copy.DownDelta, copy.LastMeasurement, copy.LastReadingAt, copy.Heater, copy.Seq, copy.LastCommandAt));
        Assert.Equal(state.RecentCommands, copy.RecentCommands);
        Assert.Equal("broker-1", copy.Incarnation);
        Assert.False(copy.Advance("readings", "t", 3, 41, "broker-1"));
        Assert.True(copy.Advance("readings", "t", 3, 42, "broker-1"));
    }

    private static readonly DateTimeOffset At = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    /// <summary>A state that applied readings up to <paramref name="readings"/> and settings up to <paramref name="settings"/> on partition 0.</summary>
    private static ThermostatState Applied(long readings, long settings, params RecentCommand[] commands)
    {
        var state = new ThermostatState { Incarnation = "b", RecentCommands = [.. commands], Seq = commands.Length > 0 ? commands[^1].Seq : 0 };
        state.Advance("readings", "t", 0, readings, "b");
        state.Advance("settings", "t", 0, settings, "b");
        return state;
    }

    [Fact]
    public void AStateThatAppliedMore_OfTheSameInputs_ExtendsTheStoredOne()
    {
        var on = new RecentCommand(HeaterAction.On, 19, 21, 1, At);
        var off = new RecentCommand(HeaterAction.Off, 22, 21, 2, At.AddMinutes(1));

        Assert.True(Applied(20, 3, on, off).Extends(Applied(10, 3, on)));
        Assert.True(Applied(10, 3, on).Extends(Applied(10, 3, on)));
        Assert.True(Applied(1, 0).Extends(new ThermostatState { Incarnation = "b" }));
    }

    [Fact]
    public void AStateBehindOnAnyPartition_OrWithOtherCommands_DoesNotExtendTheStoredOne()
    {
        var on = new RecentCommand(HeaterAction.On, 19, 21, 1, At);
        var otherOn = on with { Measurement = 18.5 };

        Assert.False(Applied(20, 3, on).Extends(Applied(10, 4, on)));  // the stored state applied a setting this one lacks
        Assert.False(Applied(20, 3, otherOn).Extends(Applied(10, 3, on)));  // command 1 differs: the two decided apart
        Assert.False(Applied(20, 3).Extends(Applied(10, 3, on)));  // the stored state commanded more
        var elsewhere = Applied(20, 3, on);
        elsewhere.Incarnation = "a";
        Assert.False(elsewhere.Extends(Applied(10, 3, on)));
    }

    [Fact]
    public void AStateWhoseMemoryStartsAfterTheStoredCommands_CannotBeCompared()
    {
        var commands = Enumerable.Range(1, 12).Select(i => new RecentCommand(i % 2 == 1 ? HeaterAction.On : HeaterAction.Off, 20, 21, i, At.AddMinutes(i))).ToArray();
        var stored = Applied(10, 3, commands[..2]);

        Assert.False(Applied(90, 3, commands[^5..]).Extends(stored));
        Assert.True(Applied(30, 3, commands[..6][^5..]).Extends(stored));
    }
}
