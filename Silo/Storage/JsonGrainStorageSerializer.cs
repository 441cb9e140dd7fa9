using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Hearth.Grains;
using Orleans.Storage;

namespace Hearth.Silo.Storage;

/// <summary>
/// Grain state stored as plain JSON (System.Text.Json; camelCase, enums as strings): readable with any
/// database tool, and free of CLR type and assembly names, so renaming a class never orphans stored state.
/// Each state carries its own format version (<see cref="ThermostatState.Format"/>).
/// </summary>
public sealed class JsonGrainStorageSerializer : IGrainStorageSerializer
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        // The thermostat state's metadata is source-generated; anything else is read by reflection.
        TypeInfoResolver = JsonTypeInfoResolver.Combine(ThermostatStateJsonContext.Default, new DefaultJsonTypeInfoResolver()),
    };

    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, Options));

    public T? Deserialize<T>(BinaryData input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return JsonSerializer.Deserialize<T>(input.ToMemory().Span, Options);
    }
}
