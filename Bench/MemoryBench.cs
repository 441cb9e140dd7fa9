using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Silo.EmbeddedKafka;
using Hearth.Testing;

namespace Hearth.Bench;

/// <summary>
/// <c>bench memory</c>: activates one controller per thermostat (a setting, then a reading each) on one silo
/// process with SQLite state, and reports the process's resident memory per active controller: at the peak,
/// and once everything is delivered. The broker runs in the bench process, so its memory is not counted.
/// </summary>
internal static class MemoryBench
{
    public static async Task<int> RunAsync(int grains, int partitions)
    {
        using var kafka = new EmbeddedKafkaCluster();
        const string run = "memory";
        foreach (var topic in new[] { "readings", "settings", "commands", "dead" })
        {
            kafka.CreateTopic($"{run}-{topic}", partitions);
        }

        var directory = Path.Combine(Path.GetTempPath(), "hearth-memory-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        await using var silo = await BenchSilos.StartAsync(kafka.BootstrapServers, run, "memory-silo", database: null, directory,
            more: new Dictionary<string, string?> { ["Logging:LogLevel:Hearth.Silo.Hosting.IdleMemoryTrimmer"] = "Information" });
        using var http = TestApiKeys.Client(new Uri(silo.HttpAddress!));
        await Poll.UntilAsync(async () => (await http.GetAsync("/health/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "ready");
        await Task.Delay(TimeSpan.FromSeconds(5));
        var (idle, _) = Memory(silo.Pid);

        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
               {
                   BootstrapServers = kafka.BootstrapServers, Partitioner = Partitioner.Murmur2Random, LingerMs = 5, CompressionType = CompressionType.Lz4,
               }).SetLogHandler((_, _) => { }).Build())
        {
            for (var i = 0; i < grains; i++)
            {
                var id = $"m-{i}";
                producer.Produce($"{run}-settings", new Message<string, byte[]> { Key = id, Value = ThermostatJson.Encode(new ThermostatSetting(id, 21, 0.5, 0.5)) });
                producer.Produce($"{run}-readings", new Message<string, byte[]> { Key = id, Value = ThermostatJson.Encode(new ThermostatReading(id, 21, DateTimeOffset.UtcNow)) });
                if (i % 10_000 == 0)
                {
                    producer.Poll(TimeSpan.Zero);
                }
            }

            producer.Flush(TimeSpan.FromMinutes(1));
        }

        double activations = 0, delivered = 0;
        await Poll.UntilAsync(async () =>
        {
            var metrics = await http.GetStringAsync("/metrics");
            activations = PrometheusText.Sum(metrics, "hearth_thermostat_activations");
            delivered = PrometheusText.Sum(metrics, "hearth_kafka_messages_delivered_total");
            return delivered >= 2.0 * grains && activations >= grains;
        }, TimeSpan.FromMinutes(10), $"{grains:N0} controllers active", () => Task.FromResult($"{activations:N0} active, {delivered:N0} delivered"));
        var (resident, peak) = Memory(silo.Pid);

        // Idle: once each controller's write-behind of its last measurement has fired, nothing arrives, and the silo
        // gives back what the burst of activations took (IdleMemoryTrimmer).
        await silo.WaitForLineAsync(l => l.Contains("Quiet after a burst of work", StringComparison.Ordinal), SettleTimeout, "the silo trimming its memory once quiet");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var (settled, _) = Memory(silo.Pid);
        var cpuBefore = CpuSeconds(silo.Pid);
        var watch = Stopwatch.StartNew();
        await Task.Delay(IdleWindow);
        var idleCores = (CpuSeconds(silo.Pid) - cpuBefore) / watch.Elapsed.TotalSeconds;
        await silo.StopAsync(TimeSpan.FromSeconds(120));
        Directory.Delete(directory, recursive: true);

        Console.WriteLine($"memory: {grains:N0} controllers on one silo process (SQLite state), {partitions} partitions per input topic");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"resident: idle {idle / 1048576.0:F0} MB, with {activations:N0} active {resident / 1048576.0:F0} MB, peak {peak / 1048576.0:F0} MB"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"per active controller: {(settled - idle) / activations:F0} bytes resident once the silo is quiet ({settled / 1048576.0:F0} MB), " +
            $"{(resident - idle) / activations:F0} bytes right after activating them, {(peak - idle) / activations:F0} bytes at the peak"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"idle with {activations:N0} active: {idleCores:F2} cores busy (the silo process over {IdleWindow.TotalSeconds:F0} s once quiet)"));
        return 0;
    }

    /// <summary>
    /// Grains:WriteBehindInterval (10 s) for the last measurements to be written, then the trimmer's quiet period (10 s)
    /// and its check interval, with room to spare.
    /// </summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(20);

    /// <summary>The CPU time a process has used (user and system), in seconds.</summary>
    private static double CpuSeconds(int pid)
    {
        using var process = Process.GetProcessById(pid);
        return process.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>VmRSS and VmHWM (peak resident) of a process, in bytes.</summary>
    private static (double Resident, double Peak) Memory(int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        double Field(string name) => double.Parse(status.Single(l => l.StartsWith(name, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return (Field("VmRSS:"), Field("VmHWM:"));
    }
}
