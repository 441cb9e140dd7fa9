namespace Hearth.Grains.Interfaces;

/// <summary>
/// The controller of one thermostat, addressed by thermostat id. It receives readings and settings
/// from Kafka and publishes <see cref="HeaterCommand"/>s; this interface is what callers may ask of it.
/// </summary>
public interface IThermostatControllerGrain
{
    /// <summary>The controller's current state.</summary>
    Task<ThermostatStatus> GetStatusAsync();
}

/// <summary>A thermostat controller's state as seen from outside.</summary>
/// <param name="Setpoint">Desired temperature, or null before the first setting.</param>
/// <param name="Heater">The last action commanded, or null if none was yet.</param>
/// <param name="LastCommandSeq">The <see cref="HeaterCommand.Seq"/> of the last command (0 when none).</param>
/// <param name="RecentCommands">The last few commands, newest first.</param>
public sealed record ThermostatStatus(
    string ThermostatId,
    double? Setpoint,
    double? UpDelta,
    double? DownDelta,
    double? LastMeasurement,
    DateTimeOffset? LastReadingAt,
    HeaterAction? Heater,
    long LastCommandSeq,
    DateTimeOffset? LastCommandAt,
    IReadOnlyList<HeaterCommand> RecentCommands);
