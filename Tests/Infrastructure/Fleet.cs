using Confluent.Kafka;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Tests.Infrastructure;

/// <summary>Publishes a test's input and keeps the reference replay of it.</summary>
public sealed class Fleet(EmbeddedKafkaFixture kafka, TestTopics topics) : IDisposable
{
    private readonly IProducer<string?, byte[]?> _producer = kafka.CreateProducer();

    public ControllerReplay Replay { get; } = new();

    public static DateTimeOffset Clock { get; } = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Publishes settings and waits until <paramref name="store"/> has stored them. Readings and settings are
    /// separate topics with no order between them: a reading published before its setting is stored may be
    /// applied first, and then commands nothing.
    /// </summary>
    public async Task PublishSettingsAsync(IEnumerable<ThermostatSetting> settings, IStoresInput store, TimeSpan timeout, string phase = "settings")
    {
        foreach (var setting in settings)
        {
            Produce(topics.Settings, setting.ThermostatId, ThermostatJson.Encode(setting));
            Replay.Apply(setting);
        }

        Flush();
        await store.WaitForStoredAsync(kafka.EndOffsets(topics.Settings), timeout, phase);
    }

    /// <summary>Publishes readings and waits until the broker has them.</summary>
    public void PublishReadings(IEnumerable<ThermostatReading> readings)
    {
        foreach (var reading in readings)
        {
            Produce(topics.Readings, reading.ThermostatId, ThermostatJson.Encode(reading));
            Replay.Apply(reading);
        }

        Flush();
    }

    /// <summary>
    /// Publishes settings and readings in the order given, each to its topic, without waiting for anything in
    /// between: where both share a topic, the partition's order is the only order.
    /// </summary>
    public void PublishInOrder(IEnumerable<ThermostatMessage> inputs)
    {
        foreach (var input in inputs)
        {
            switch (input)
            {
                case ThermostatSetting setting:
                    Produce(topics.Settings, setting.ThermostatId, ThermostatJson.Encode(setting));
                    break;
                case ThermostatReading reading:
                    Produce(topics.Readings, reading.ThermostatId, ThermostatJson.Encode(reading));
                    break;
            }

            Replay.Apply(input);
        }

        Flush();
    }

    /// <summary>Publishes raw bytes (malformed input) to a topic.</summary>
    public void PublishRaw(string topic, string? key, byte[]? value)
    {
        Produce(topic, key, value);
        Flush();
    }

    /// <summary>Readings that swing each thermostat across its band <paramref name="swings"/> times.</summary>
    public static IEnumerable<ThermostatReading> Swinging(IReadOnlyList<string> ids, double setpoint, int swings, int readingsPerSwing = 6)
    {
        var step = 0;
        for (var swing = 0; swing < swings; swing++)
        {
            for (var i = 0; i < readingsPerSwing; i++, step++)
            {
                // Up through the band on even swings, down through it on odd ones.
                var fraction = (double)i / (readingsPerSwing - 1);
                var offset = swing % 2 == 0 ? -2 + (4 * fraction) : 2 - (4 * fraction);
                foreach (var id in ids)
                {
                    yield return new ThermostatReading(id, Math.Round(setpoint + offset, 2), Clock.AddSeconds(step));
                }
            }
        }
    }

    public void Dispose() => _producer.Dispose();

    private void Produce(string topic, string? key, byte[]? value) =>
        _producer.Produce(topic, new Message<string?, byte[]?> { Key = key, Value = value });

    private void Flush()
    {
        if (_producer.Flush(TimeSpan.FromSeconds(30)) > 0)
        {
            throw new TimeoutException("The test's input was not delivered to the embedded broker.");
        }
    }
}
