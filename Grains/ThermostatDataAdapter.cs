using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Grains;

/// <summary>
/// The thermostat wire format for the Kafka stream provider: readings and settings become events of the
/// thermostat's stream of the topic they came on (<see cref="ThermostatStreams.Readings"/> for the readings
/// topic, <see cref="ThermostatStreams.Settings"/> for a settings topic of its own), so what one partition
/// holds for a thermostat reaches it in the partition's order, a setting before the readings produced after
/// it also when both share a topic. A heater command is written as its JSON. Anything else is rejected with
/// the reason, and goes to the dead-letter topic.
/// </summary>
/// <param name="settingsTopic">The settings topic; when it is not the readings topic, its inputs go to the settings streams.</param>
public sealed class ThermostatDataAdapter(string readingsTopic, string settingsTopic) : IKafkaDataAdapter
{
    private readonly string? _separateSettingsTopic =
        string.Equals(readingsTopic, settingsTopic, StringComparison.Ordinal) ? null : settingsTopic;

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

        return KafkaDecodeResult.Event(StreamId.Create(StreamOf(message.Topic), ThermostatKeys.GrainKey(input.ThermostatId)), input);
    }

    /// <summary>The stream namespace the inputs of <paramref name="topic"/> (an input topic) go to.</summary>
    public string StreamOf(string topic) =>
        string.Equals(topic, _separateSettingsTopic, StringComparison.Ordinal) ? ThermostatStreams.Settings : ThermostatStreams.Readings;

    public byte[] Encode<T>(StreamId streamId, T item) => item switch
    {
        HeaterCommand command => ThermostatJson.Encode(command),
        _ => throw new ArgumentException($"The thermostat streams carry no {typeof(T).Name} to publish.", nameof(item)),
    };
}
