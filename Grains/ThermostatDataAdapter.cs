using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Grains;

/// <summary>
/// The thermostat wire format for the Kafka stream provider: a reading becomes an event of the thermostat's
/// readings stream and a setting one of its settings stream, whichever topic they came on (readings and
/// settings may share a topic); a heater command is written as its JSON. Anything else is rejected with the
/// reason, and goes to the dead-letter topic.
/// </summary>
public sealed class ThermostatDataAdapter : IKafkaDataAdapter
{
    public KafkaDecodeResult Decode(in KafkaMessage message)
    {
        if (!message.HasKey)
        {
            return KafkaDecodeResult.Reject("message has no key (the key must be the thermostat id)");
        }

        var decoded = ThermostatJson.DecodeInput(message.Key, message.Value, message.Timestamp);
        if (!decoded.IsSuccess)
        {
            return KafkaDecodeResult.Reject(decoded.Error);
        }

        var input = decoded.Value;
        if (ThermostatKeys.Problem(input.ThermostatId) is { } problem)
        {
            return KafkaDecodeResult.Reject($"the key cannot be a thermostat id: {problem}");
        }

        var stream = input is ThermostatReading ? ThermostatStreams.Readings : ThermostatStreams.Settings;
        return KafkaDecodeResult.Event(StreamId.Create(stream, ThermostatKeys.GrainKey(input.ThermostatId)), input);
    }

    public byte[] Encode<T>(StreamId streamId, T item) => item switch
    {
        HeaterCommand command => ThermostatJson.Encode(command),
        _ => throw new ArgumentException($"The thermostat streams carry no {typeof(T).Name} to publish.", nameof(item)),
    };
}
