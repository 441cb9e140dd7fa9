using Hearth.Grains;
using Hearth.Grains.Interfaces;

namespace Hearth.Tests.Infrastructure;

/// <summary>The reference: the same input applied to in-memory controllers, one per thermostat.</summary>
public sealed class ControllerReplay
{
    private readonly Dictionary<string, ThermostatController> _controllers = new(StringComparer.Ordinal);
    private readonly List<HeaterCommand> _commands = [];

    public IReadOnlyList<HeaterCommand> Commands => _commands;

    public ThermostatState StateOf(string id) => Controller(id).State;

    public void Apply(ThermostatMessage message)
    {
        var controller = Controller(message.ThermostatId);
        switch (message)
        {
            case ThermostatSetting setting:
                controller.Apply(setting);
                break;
            case ThermostatReading reading when controller.Apply(reading) is { } command:
                _commands.Add(command);
                break;
        }
    }

    /// <summary>The commands of each thermostat, in order.</summary>
    public Dictionary<string, List<HeaterCommand>> CommandsByThermostat() =>
        _commands.GroupBy(c => c.ThermostatId).ToDictionary(g => g.Key, g => g.ToList());

    private ThermostatController Controller(string id)
    {
        if (!_controllers.TryGetValue(id, out var controller))
        {
            controller = new ThermostatController(id, new ThermostatState());
            _controllers[id] = controller;
        }

        return controller;
    }
}
