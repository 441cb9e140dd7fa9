using System.Text;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Silo.Hosting;

/// <summary>
/// The thermostat wire format for the Kafka stream provider: a reading or setting becomes a
/// <see cref="ThermostatInput"/> of its partition's stream, carrying its position (topic, partition, offset and the
/// topic's life) and its Kafka timestamp. A heater command is written as its JSON. Anything else is rejected with
/// the reason, and goes to the dead-letter topic.
/// </summary>
public sealed class ThermostatDataAdapter : IKafkaDataAdapter
{
    /// <summary>The longest <see cref="ThermostatSetting.SetByHeader"/> taken; a longer one is left out (the setting is applied without it).</summary>
    public const int MaxSetByBytes = 256;

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

        // Who published it through the API. As trustworthy as the settings topic's ACLs: anyone who may write there may write it.
        if (input is ThermostatSetting setting && message.Headers is { } headers &&
            headers.TryGetLastBytes(ThermostatSetting.SetByHeader, out var setBy) && setBy is { Length: > 0 and <= MaxSetByBytes })
        {
            input = setting with { SetBy = Encoding.UTF8.GetString(setBy) };
        }

        return KafkaDecodeResult.Event(new ThermostatInput(
            input, new InputPosition(message.Topic, message.Partition, message.Offset, message.TopicId), message.Timestamp));
    }

    public byte[] Encode<T>(StreamId streamId, T item) => item switch
    {
        HeaterCommand command => ThermostatJson.Encode(command),
        _ => throw new ArgumentException($"The thermostat streams carry no {typeof(T).Name} to publish.", nameof(item)),
    };
}
