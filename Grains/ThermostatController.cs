using Hearth.Grains.Interfaces;

namespace Hearth.Grains;

/// <summary>
/// The control law of one thermostat, as a plain class over its <see cref="ThermostatState"/>.
/// </summary>
/// <remarks>
/// The heater goes ON when a reading is below <c>temperature - downDelta</c> and OFF when it is above
/// <c>temperature + upDelta</c>; a reading on a bound or inside the band changes nothing. A command is
/// produced only when the action differs from the last one commanded, and each command's
/// <see cref="HeaterCommand.Seq"/> is one more than the previous. Readings before any setting are
/// recorded but produce no command. Only readings produce commands: a new setting takes effect at the
/// next reading.
/// </remarks>
public sealed class ThermostatController
{
    /// <summary>How many recent commands the state keeps, for people looking at a thermostat.</summary>
    public const int RecentCommandCount = 5;

    public ThermostatController(string thermostatId, ThermostatState state)
    {
        ArgumentNullException.ThrowIfNull(thermostatId);
        ArgumentNullException.ThrowIfNull(state);
        ThermostatId = thermostatId;
        State = state;
    }

    public string ThermostatId { get; }

    public ThermostatState State { get; }

    /// <summary>Records a new desired temperature and dead band.</summary>
    public void Apply(ThermostatSetting setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        State.Temperature = setting.Temperature;
        State.UpDelta = setting.UpDelta;
        State.DownDelta = setting.DownDelta;
        State.LastSettingBy = setting.SetBy;
    }

    /// <summary>Records a reading and returns the command it calls for, if any.</summary>
    public HeaterCommand? Apply(ThermostatReading reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        State.LastMeasurement = reading.Measurement;
        State.LastReadingAt = reading.Timestamp;

        if (State.Temperature is not { } setpoint)
        {
            return null;
        }

        HeaterAction? wanted =
            reading.Measurement < setpoint - State.DownDelta ? HeaterAction.On
            : reading.Measurement > setpoint + State.UpDelta ? HeaterAction.Off
            : null;
        if (wanted is not { } action || action == State.Heater)
        {
            return null;
        }

        State.Heater = action;
        State.Seq++;
        State.LastCommandAt = reading.Timestamp;
        if (State.RecentCommands.Count == RecentCommandCount)
        {
            State.RecentCommands.RemoveAt(0);
        }

        var command = new HeaterCommand(ThermostatId, action, reading.Measurement, setpoint, State.Seq, reading.Timestamp);
        State.RecentCommands.Add(RecentCommand.Of(command));
        return command;
    }

    /// <summary>The state as callers see it.</summary>
    public ThermostatStatus GetStatus()
    {
        var hasSetting = State.Temperature is not null;
        return new ThermostatStatus(
            ThermostatId,
            State.Temperature,
            hasSetting ? State.UpDelta : null,
            hasSetting ? State.DownDelta : null,
            State.LastMeasurement,
            State.LastReadingAt,
            State.Heater,
            State.Seq,
            State.LastCommandAt,
            State.RecentCommands
                .AsEnumerable()
                .Reverse()
                .Select(c => c.For(ThermostatId))
                .ToList(),
            LastSettingBy: hasSetting ? State.LastSettingBy : null);
    }
}
