using Microsoft.Extensions.Options;

namespace Hearth.Grains;

/// <summary>Checks <see cref="ThermostatGrainOptions"/>; every message names the configuration key (<c>Grains:IdleTimeout</c>).</summary>
public sealed class ThermostatGrainOptionsValidator : IValidateOptions<ThermostatGrainOptions>
{
    public ValidateOptionsResult Validate(string? name, ThermostatGrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Range(failures, nameof(options.IdleTimeout), options.IdleTimeout, TimeSpan.FromSeconds(2), TimeSpan.FromDays(7));
        Range(failures, nameof(options.WriteBehindInterval), options.WriteBehindInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        Range(failures, nameof(options.MaxAttempts), options.MaxAttempts, 1, 1000);
        if (options.Placement is not (ThermostatGrainOptions.ResourceOptimizedPlacement or ThermostatGrainOptions.PreferLocalPlacement))
        {
            failures.Add($"{Key(nameof(options.Placement))} must be '{ThermostatGrainOptions.ResourceOptimizedPlacement}' or " +
                $"'{ThermostatGrainOptions.PreferLocalPlacement}'; it is '{options.Placement}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Key(string option) => $"{ThermostatGrainOptions.SectionName}:{option}";

    private static void Range<T>(List<string> failures, string option, T value, T min, T max)
        where T : IComparable<T>
    {
        if (value.CompareTo(min) < 0 || value.CompareTo(max) > 0)
        {
            failures.Add($"{Key(option)} must be between {min} and {max}; it is {value}.");
        }
    }
}
