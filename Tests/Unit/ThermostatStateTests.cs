using Hearth.Grains;

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
        // Another partition, another stream on the same partition (readings and settings share a topic): their own positions.
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
}
