using Hearth.Grains.Interfaces;
using Hearth.Runtime;

namespace Hearth.Grains;

/// <summary>
/// Hosts a <see cref="ThermostatController"/> as a grain: one activation per thermostat id, fed with
/// the thermostat's readings and settings, publishing heater commands.
/// </summary>
public sealed class ThermostatControllerGrain
    : Grain<ThermostatState>, IThermostatControllerGrain, IStreamSubscriber<ThermostatMessage>
{
    /// <summary>The grain type's stable name, stored with its state.</summary>
    public const string GrainTypeName = "thermostat";

    private readonly ThermostatController _controller;
    private readonly IOutputStream<HeaterCommand> _commands;
    private readonly ThermostatMetrics _metrics;

    public ThermostatControllerGrain(IGrainContext context, ThermostatMetrics metrics) : base(context)
    {
        _controller = new ThermostatController(GrainKey, State);
        _commands = GetOutputStream<HeaterCommand>(ThermostatStreams.Commands);
        _metrics = metrics;
    }

    public async ValueTask OnNextAsync(ThermostatMessage item, StreamPosition position)
    {
        switch (item)
        {
            case ThermostatReading reading:
                _metrics.Reading();
                if (_controller.Apply(reading) is { } command)
                {
                    await _commands.OnNextAsync(command);
                    _metrics.Command(command.Action);
                }

                break;
            case ThermostatSetting setting:
                _metrics.Setting();
                _controller.Apply(setting);
                break;
            default:
                throw new ArgumentException($"Unexpected message type {item.GetType().Name}.", nameof(item));
        }

        await WriteStateAsync();
    }

    public Task<ThermostatStatus> GetStatusAsync() => Task.FromResult(_controller.GetStatus());
}
