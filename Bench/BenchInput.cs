using ErrorCode = Confluent.Kafka.ErrorCode;
using Confluent.Kafka;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Bench;

/// <summary>
/// The benchmark's input: a setting per thermostat, then readings that swing each thermostat through its
/// band (about one reading in twenty changes a heater). Deterministic, so every run gets the same bytes.
/// </summary>
internal sealed class BenchInput(int thermostats, int readings)
{
    private const int Period = 40;
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    public int Thermostats { get; } = thermostats;

    public int Readings { get; } = readings;

    /// <summary>Settings plus readings.</summary>
    public int Messages => Thermostats + Readings;

    public static string Id(int thermostat) => $"t-{thermostat:D5}";

    public static double Setpoint(int thermostat) => 19 + (thermostat % 5);

    public static ThermostatSetting Setting(int thermostat) => new(Id(thermostat), Setpoint(thermostat), 0.5, 0.5);

    /// <summary>The <paramref name="round"/>-th reading of a thermostat.</summary>
    public static ThermostatReading Reading(int thermostat, long round, DateTimeOffset timestamp)
    {
        var phase = 2 * Math.PI * ((round + (thermostat % Period)) % Period) / Period;
        return new ThermostatReading(Id(thermostat), Math.Round(Setpoint(thermostat) + (2 * Math.Sin(phase)), 2), timestamp);
    }

    /// <summary>Produces the whole input to <paramref name="topic"/> (lz4, keyed with murmur2) and checks it all landed.</summary>
    public void ProduceTo(string bootstrap, string topic)
    {
        using var producer = Producer(bootstrap);
        for (var t = 0; t < Thermostats; t++)
        {
            Send(producer, topic, Id(t), ThermostatJson.Encode(Setting(t)));
        }

        for (var i = 0; i < Readings; i++)
        {
            var thermostat = i % Thermostats;
            var round = i / Thermostats;
            Send(producer, topic, Id(thermostat), ThermostatJson.Encode(Reading(thermostat, round, Start.AddSeconds(round))));
        }

        producer.Flush(TimeSpan.FromMinutes(2));
        var (low, high) = Watermarks(bootstrap, topic);
        if (low != 0 || high != Messages)
        {
            // The embedded broker keeps about 5 MiB per partition and silently drops older messages.
            throw new InvalidOperationException(
                $"{topic} holds offsets {low}..{high}, expected 0..{Messages}: the broker dropped input. Use more partitions.");
        }
    }

    public static IProducer<string, byte[]> Producer(string bootstrap) =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Partitioner = Partitioner.Murmur2Random,
            CompressionType = CompressionType.Lz4,
            LingerMs = 5,
            BatchNumMessages = 10_000,
            QueueBufferingMaxMessages = 1_000_000,
            EnableDeliveryReports = false,
        }).SetLogHandler((_, _) => { }).Build();

    /// <summary>Produces, waiting while the producer's local queue is full.</summary>
    public static void Send<TKey>(IProducer<TKey, byte[]> producer, string topic, TKey key, byte[] value)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, new Message<TKey, byte[]> { Key = key, Value = value });
                return;
            }
            catch (ProduceException<TKey, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>Summed low and high watermarks over the topic's partitions.</summary>
    public static (long Low, long High) Watermarks(string bootstrap, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-watermarks" })
            .SetLogHandler((_, _) => { }).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
        long low = 0, high = 0;
        foreach (var p in partitions)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10));
            low += w.Low.Value;
            high += w.High.Value;
        }

        return (low, high);
    }
}
