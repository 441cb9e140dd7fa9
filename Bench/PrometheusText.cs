using System.Globalization;
using System.Text.RegularExpressions;

namespace Hearth.Bench;

/// <summary>Values read from a silo's <c>/metrics</c> (Prometheus text format).</summary>
internal static partial class PrometheusText
{
    /// <summary>
    /// The sum of the samples of <paramref name="name"/> over all its label sets, or over those carrying
    /// <paramref name="label"/> with <paramref name="value"/>.
    /// </summary>
    public static double Sum(string text, string name, string? label = null, string? value = null) =>
        Sample().Matches(text)
            .Where(m => m.Groups["name"].Value == name
                        && (label is null || m.Groups["labels"].Value.Split(',').Contains($"{label}=\"{value}\"", StringComparer.Ordinal)))
            .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$""", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
