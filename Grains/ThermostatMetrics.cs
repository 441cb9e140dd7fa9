using System.Diagnostics.Metrics;
using Hearth.Grains.Interfaces;

namespace Hearth.Grains;

/// <summary>What the thermostat controllers did, on the <c>Hearth.Thermostats</c> meter.</summary>
public sealed class ThermostatMetrics
{
    public const string MeterName = "Hearth.Thermostats";

    private static readonly KeyValuePair<string, object?> On = new("action", "on");
    private static readonly KeyValuePair<string, object?> Off = new("action", "off");

    private readonly Counter<long> _readings;
    private readonly Counter<long> _settings;
    private readonly Counter<long> _commands;

    public ThermostatMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        _readings = meter.CreateCounter<long>("hearth.thermostat.readings", "{reading}", "Readings applied to controllers");
        _settings = meter.CreateCounter<long>("hearth.thermostat.settings", "{setting}", "Settings applied to controllers");
        _commands = meter.CreateCounter<long>("hearth.thermostat.commands", "{command}", "Heater commands published, by action");
    }

    public void Reading() => _readings.Add(1);

    public void Setting() => _settings.Add(1);

    public void Command(HeaterAction action) => _commands.Add(1, action == HeaterAction.On ? On : Off);
}
