using System.Collections;

namespace Hearth.Client;

/// <summary>
/// The librdkafka properties the client's producer and consumer get (security first of all: <c>security.protocol</c>,
/// <c>sasl.*</c>, <c>ssl.*</c>), by the silo's convention, so that one Secret serves both: the environment variables
/// <c>Kafka__Properties__&lt;name&gt;</c> and <c>Kafka__PropertyFiles__&lt;name&gt;</c> (a file holding the value), then
/// <c>--kafka-property name=value</c> on top.
/// </summary>
public static class KafkaProperties
{
    private const string ValuePrefix = "Kafka__Properties__";
    private const string FilePrefix = "Kafka__PropertyFiles__";

    /// <summary>
    /// The properties from <paramref name="environment"/> and the <paramref name="arguments"/> of
    /// <c>--kafka-property</c>. A value on the command line shows in the process list: secrets belong in the environment
    /// or a file.
    /// </summary>
    /// <exception cref="ArgumentException">A malformed argument, a file that cannot be read, a property set both ways; the message names it.</exception>
    public static Dictionary<string, string> Resolve(IEnumerable<string> arguments, IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        var variables = environment.Cast<DictionaryEntry>()
            .Select(e => (Name: (string)e.Key, Value: e.Value as string ?? ""))
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var (name, value) in variables.Where(v => v.Name.StartsWith(ValuePrefix, StringComparison.Ordinal)))
        {
            properties[name[ValuePrefix.Length..]] = value;
        }

        foreach (var (name, path) in variables.Where(v => v.Name.StartsWith(FilePrefix, StringComparison.Ordinal)))
        {
            var property = name[FilePrefix.Length..];
            if (properties.ContainsKey(property))
            {
                throw new ArgumentException($"{ValuePrefix}{property} and {name} are both set; set one.");
            }

            try
            {
                properties[property] = File.ReadAllText(path).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"{name} '{path}' cannot be read: {e.Message}", e);
            }
        }

        foreach (var argument in arguments)
        {
            var equals = argument.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--kafka-property takes name=value (a librdkafka property); got '{argument}'.");
            }

            properties[argument[..equals]] = argument[(equals + 1)..];
        }

        return properties;
    }
}
