using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Runtime;

namespace Hearth.Grains;

/// <summary>Names of the streams the thermostat grains use.</summary>
public static class ThermostatStreams
{
    /// <summary>The output stream of <see cref="HeaterCommand"/>s (topic <c>Topics:Commands</c>).</summary>
    public const string Commands = "Commands";
}

/// <summary>Decodes readings and settings (<see cref="ThermostatJson.DecodeInput"/>).</summary>
public sealed class ThermostatMessageDecoder : IMessageDecoder<ThermostatMessage>
{
    public bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset timestamp,
        out ThermostatMessage? item, out string? error)
    {
        var result = ThermostatJson.DecodeInput(key, value, timestamp);
        item = result.Value;
        error = result.Error;
        return result.IsSuccess;
    }
}

/// <summary>Encodes heater commands (<see cref="ThermostatJson.Encode(HeaterCommand)"/>).</summary>
public sealed class HeaterCommandEncoder : IMessageEncoder<HeaterCommand>
{
    public byte[] Encode(HeaterCommand item) => ThermostatJson.Encode(item);
}
