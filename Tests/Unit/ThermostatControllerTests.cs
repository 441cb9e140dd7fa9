using System.Globalization;
using Hearth.Grains;
using Hearth.Grains.Interfaces;

namespace Hearth.Tests.Unit;

public sealed class ThermostatControllerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlyList<HeaterCommand> None = [];

    /// <summary>
    /// Each case is a script: <c>set T up down</c> applies a setting; <c>read M -> on|off|none</c> applies a
    /// reading and states the command it must produce. Seq is checked to count up from 1.
    /// </summary>
    public static TheoryData<string, string[]> Cases => new()
    {
        { "no setting yet: readings are recorded, nothing is commanded", ["read 10 -> none", "read 40 -> none"] },
        { "below the band turns the heater on", ["set 21 0.5 0.5", "read 20.4 -> on"] },
        { "above the band turns the heater off", ["set 21 0.5 0.5", "read 21.6 -> off"] },
        { "on the lower bound is no change", ["set 21 0.5 0.5", "read 20.5 -> none", "read 20.49 -> on"] },
        { "on the upper bound is no change", ["set 21 0.5 0.5", "read 20 -> on", "read 21.5 -> none", "read 21.51 -> off"] },
        { "inside the band with no command yet commands nothing", ["set 21 0.5 0.5", "read 21 -> none", "read 20.8 -> none"] },
        { "the same action twice is commanded once", ["set 21 0.5 0.5", "read 18 -> on", "read 17 -> none", "read 20 -> none", "read 22 -> off", "read 25 -> none"] },
        { "seq increments with every command", ["set 20 1 1", "read 18 -> on", "read 22 -> off", "read 18 -> on", "read 22 -> off", "read 18 -> on"] },
        { "a setting changes the band mid-stream", ["set 21 0.5 0.5", "read 20 -> on", "set 18 0.5 0.5", "read 20 -> off", "set 22 1 1", "read 21.5 -> none", "read 20.9 -> on"] },
        { "a setting alone commands nothing", ["set 21 0.5 0.5", "read 20 -> on", "set 10 0.5 0.5"] },
        { "asymmetric deltas", ["set 20 2 0.5", "read 19.4 -> on", "read 21.9 -> none", "read 22.1 -> off", "read 19.6 -> none"] },
        { "zero deltas: only the setpoint itself is in band", ["set 20 0 0", "read 20 -> none", "read 19.99 -> on", "read 20 -> none", "read 20.01 -> off"] },
        { "readings before the first setting then control", ["read 15 -> none", "set 21 0.5 0.5", "read 15 -> on"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Script_ProducesExactlyTheExpectedCommands(string description, string[] script)
    {
        var state = new ThermostatState();
        var controller = new ThermostatController("t-1", state);
        var expectedSeq = 0L;
        for (var step = 0; step < script.Length; step++)
        {
            var words = script[step].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var at = T0.AddSeconds(step);
            if (words[0] == "set")
            {
                controller.Apply(new ThermostatSetting("t-1", Number(words[1]), Number(words[2]), Number(words[3])));
                continue;
            }

            var measurement = Number(words[1]);
            var command = controller.Apply(new ThermostatReading("t-1", measurement, at));
            var because = $"{description}: step {step} '{script[step]}'";
            Assert.True(state.LastMeasurement == measurement, because);
            Assert.Equal(at, state.LastReadingAt);
            switch (words[3])
            {
                case "none":
                    Assert.True(command is null, $"{because} produced {command}");
                    break;
                default:
                    Assert.True(command is not null, $"{because} produced no command");
                    expectedSeq++;
                    Assert.Equal(words[3] == "on" ? HeaterAction.On : HeaterAction.Off, command.Action);
                    Assert.Equal(expectedSeq, command.Seq);
                    Assert.Equal(measurement, command.Measurement);
                    Assert.Equal(state.Temperature, command.Setpoint);
                    Assert.Equal("t-1", command.ThermostatId);
                    Assert.Equal(at, command.Timestamp);
                    break;
            }
        }

        Assert.Equal(expectedSeq, state.Seq);
    }

    [Fact]
    public void GetStatus_ReflectsTheState()
    {
        var controller = new ThermostatController("t-9", new ThermostatState());
        Assert.Equal(new ThermostatStatus("t-9", null, null, null, null, null, null, 0, null, None), controller.GetStatus() with { RecentCommands = None });
        Assert.Empty(controller.GetStatus().RecentCommands);

        controller.Apply(new ThermostatSetting("t-9", 21, 0.5, 1));
        controller.Apply(new ThermostatReading("t-9", 19, T0));

        var status = controller.GetStatus();
        Assert.Equal(new ThermostatStatus("t-9", 21, 0.5, 1, 19, T0, HeaterAction.On, 1, T0, None), status with { RecentCommands = None });
        Assert.Equal([new HeaterCommand("t-9", HeaterAction.On, 19, 21, 1, T0)], status.RecentCommands);
    }

    [Fact]
    public void RecentCommands_KeepTheLastFive_NewestFirst()
    {
        var controller = new ThermostatController("t-9", new ThermostatState());
        controller.Apply(new ThermostatSetting("t-9", 20, 1, 1));
        for (var i = 0; i < 8; i++)
        {
            controller.Apply(new ThermostatReading("t-9", i % 2 == 0 ? 15 : 25, T0.AddMinutes(i)));
        }

        Assert.Equal([8L, 7, 6, 5, 4], controller.GetStatus().RecentCommands.Select(c => c.Seq));
    }

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
