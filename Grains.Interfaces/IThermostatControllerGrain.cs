namespace Hearth.Grains.Interfaces;

/// <summary>
/// The controller of one thermostat, addressed by <see cref="ThermostatKeys.GrainKey"/> of the thermostat id.
/// It is given the readings and settings read from Kafka and publishes <see cref="HeaterCommand"/>s.
/// </summary>
[Alias("hearth.IThermostatControllerGrain")]
public interface IThermostatControllerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Applies <paramref name="inputs"/> (this thermostat's, in partition order), skipping those applied already, and
    /// completes once their effects are durable: the commands they caused are in Kafka and the state that records a
    /// setting or a command is written.
    /// </summary>
    [Alias("Apply")]
    Task ApplyAsync(ThermostatInputs inputs);

    /// <summary>
    /// The controller's current state, or null for a thermostat that has never sent a reading or received a
    /// setting (the activation such a call creates goes away at once and stores nothing).
    /// </summary>
    [Alias("GetStatus")]
    Task<ThermostatStatus?> GetStatusAsync();
}

/// <summary>A thermostat controller's state as seen from outside.</summary>
/// <param name="Setpoint">Desired temperature, or null before the first setting.</param>
/// <param name="Heater">The last action commanded, or null if none was yet.</param>
/// <param name="LastCommandSeq">The <see cref="HeaterCommand.Seq"/> of the last command (0 when none).</param>
/// <param name="RecentCommands">The last few commands, newest first.</param>
/// <param name="Silo">The silo hosting the controller's activation (set by the grain).</param>
/// <param name="LastSettingBy">Who published the setting in force through the API (<see cref="ThermostatSetting.SetBy"/>); null if it came to Kafka otherwise.</param>
[GenerateSerializer, Immutable, Alias("hearth.ThermostatStatus")]
public sealed record ThermostatStatus(
    [property: Id(0)] string ThermostatId,
    [property: Id(1)] double? Setpoint,
    [property: Id(2)] double? UpDelta,
    [property: Id(3)] double? DownDelta,
    [property: Id(4)] double? LastMeasurement,
    [property: Id(5)] DateTimeOffset? LastReadingAt,
    [property: Id(6)] HeaterAction? Heater,
    [property: Id(7)] long LastCommandSeq,
    [property: Id(8)] DateTimeOffset? LastCommandAt,
    [property: Id(9)] IReadOnlyList<HeaterCommand> RecentCommands,
    [property: Id(10)] string? Silo = null,
    [property: Id(11)] string? LastSettingBy = null);

/// <summary>
/// Thermostat ids and grain keys. A grain key is the thermostat id behind a fixed prefix: Orleans stores
/// string keys that look like hexadecimal numbers (<c>cafe</c>, <c>0CAFE</c>) as the number they spell, so
/// two such thermostats would share one stored state; the prefix keeps every key a plain string.
/// </summary>
public static class ThermostatKeys
{
    /// <summary>The prefix of every controller grain key and of every input stream key.</summary>
    public const string Prefix = "t:";

    /// <summary>The longest thermostat id, in characters.</summary>
    public const int MaxLength = 255;

    /// <summary>The grain key (and input stream key) of <paramref name="thermostatId"/>.</summary>
    public static string GrainKey(string thermostatId) => Prefix + thermostatId;

    /// <summary>The thermostat id a grain key stands for.</summary>
    /// <exception cref="ArgumentException">The key is not a thermostat's.</exception>
    public static string ThermostatId(string grainKey) =>
        grainKey.StartsWith(Prefix, StringComparison.Ordinal)
            ? grainKey[Prefix.Length..]
            : throw new ArgumentException($"'{grainKey}' is not a thermostat grain key.", nameof(grainKey));

    /// <summary>Why <paramref name="thermostatId"/> cannot be a thermostat id, or null if it can.</summary>
    public static string? Problem(string thermostatId) =>
        string.IsNullOrWhiteSpace(thermostatId) ? "the id is empty"
        : thermostatId.Length > MaxLength ? $"the id is {thermostatId.Length} characters long; at most {MaxLength} are allowed"
        : HasControlCharacters(thermostatId) ? "the id contains control characters"
        : null;

    /// <summary>Whether the id holds a control character (Unicode's Cc: U+0000-U+001F, U+007F-U+009F), checked for every message.</summary>
    private static bool HasControlCharacters(string thermostatId) =>
        thermostatId.AsSpan().ContainsAnyInRange('\u0000', '\u001F') || thermostatId.AsSpan().ContainsAnyInRange('\u007F', '\u009F');
}
