namespace Hearth.Runtime.Configuration;

/// <summary>The range checks every options validator makes, with messages that name the key.</summary>
public static class OptionChecks
{
    /// <summary>Adds a failure unless <paramref name="min"/> &lt;= <paramref name="value"/> &lt;= <paramref name="max"/>.</summary>
    public static void Range(List<string> failures, string key, long value, long min, long max)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (value < min || value > max)
        {
            failures.Add($"{key} must be between {min} and {max}; it is {value}.");
        }
    }

    /// <summary>Adds a failure unless <paramref name="min"/> &lt;= <paramref name="value"/> &lt;= <paramref name="max"/>.</summary>
    public static void Range(List<string> failures, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (value < min || value > max)
        {
            failures.Add($"{key} must be between {min} and {max}; it is {value}.");
        }
    }
}
