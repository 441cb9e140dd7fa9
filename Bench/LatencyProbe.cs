using System.Diagnostics;
using Confluent.Kafka;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Bench;

/// <summary>
/// Measures reading-to-output latency: feeds readings stamped with the current time at a fixed rate and
/// reads the outputs, taking for each the time since the reading that caused it was produced.
/// </summary>
internal static class LatencyProbe
{
    /// <param name="PausedMs">How long the collector stopped the process's managed threads while the probe ran.</param>
    public sealed record Result(int Samples, double P50Ms, double P99Ms, long Sent, double PausedMs);

    /// <summary>Samples of readings sent in the first second are dropped: new clients find their partitions' leaders then.</summary>
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(1);

    public static async Task<Result> RunAsync(BenchSystem system, BenchInput input, int rate, TimeSpan duration, long processedBefore)
    {
        var samples = new List<double>();
        var pausedAtStart = GC.GetTotalPauseDuration();
        var measureFrom = DateTimeOffset.UtcNow + Warmup;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = system.Bootstrap,
            GroupId = "bench-probe-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            FetchWaitMaxMs = BenchSystem.FetchWaitMaxMs,
        }).SetLogHandler((_, _) => { }).Build();
        using (var admin = new DependentAdminClientBuilder(consumer.Handle).Build())
        {
            var partitions = admin.GetMetadata(system.Output, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
            consumer.Assign(partitions.Select(p =>
            {
                var tp = new TopicPartition(system.Output, p.PartitionId);
                return new TopicPartitionOffset(tp, consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High);
            }));
        }

        using var stop = new CancellationTokenSource();
        var reader = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(20));
                if (result?.Message is null)
                {
                    continue;
                }

                var now = DateTimeOffset.UtcNow;
                if (system.SourceTimestamp(result.Message.Key, result.Message.Value) is { } source && source >= measureFrom)
                {
                    samples.Add((now - source).TotalMilliseconds);
                }
            }
        }, TaskCreationOptions.LongRunning);

        using var producer = BenchInput.Producer(system.Bootstrap);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        var firstRound = input.Readings / input.Thermostats;
        while (clock.Elapsed < duration + Warmup)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                var thermostat = (int)(sent % input.Thermostats);
                var reading = BenchInput.Reading(thermostat, firstRound + (sent / input.Thermostats), DateTimeOffset.UtcNow);
                BenchInput.Send(producer, system.Input, BenchInput.Id(thermostat), ThermostatJson.Encode(reading));
            }

            await Task.Delay(1);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        while (system.Processed < processedBefore + sent)
        {
            await Task.Delay(10);
        }

        await system.CompleteAsync(processedBefore + sent);
        // Outputs are in Kafka now; give the probe's consumer a moment to read the last of them.
        var ends = consumer.Assignment.Sum(p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);
        while (consumer.Assignment.Sum(p => Math.Max(0, consumer.Position(p).Value)) < ends)
        {
            await Task.Delay(10);
        }

        stop.Cancel();
        await reader;
        samples.Sort();
        return new Result(samples.Count, Percentile(samples, 0.50), Percentile(samples, 0.99), sent, (GC.GetTotalPauseDuration() - pausedAtStart).TotalMilliseconds);
    }

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
}
