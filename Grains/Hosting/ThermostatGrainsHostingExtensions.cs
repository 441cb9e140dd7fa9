using Hearth.Grains.Interfaces;
using Hearth.Runtime;

namespace Hearth.Grains.Hosting;

public static class ThermostatGrainsHostingExtensions
{
    /// <summary>
    /// Registers <see cref="ThermostatControllerGrain"/> as the receiver of readings and settings and the
    /// heater-commands output stream.
    /// </summary>
    public static IGrainRuntimeBuilder AddThermostatGrains(this IGrainRuntimeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddStreamGrain<ThermostatControllerGrain, ThermostatState, ThermostatMessage>(
                ThermostatControllerGrain.GrainTypeName,
                ThermostatStateJsonContext.Default.ThermostatState,
                new ThermostatMessageDecoder())
            .AddOutputStream<HeaterCommand>(ThermostatStreams.Commands, new HeaterCommandEncoder());
    }
}
