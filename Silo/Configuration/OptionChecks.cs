namespace Hearth.Silo.Configuration;

/// <summary>The checks options validators share, with messages that name the key.</summary>
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

    /// <summary>Adds a failure unless <paramref name="value"/> is null (not set) or an absolute http(s) URL.</summary>
    public static void HttpUrl(List<string> failures, string key, string? value)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (value is not null &&
            (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            failures.Add($"{key} must be an absolute http(s) URL; it is '{value}'.");
        }
    }
}
