using System.Diagnostics;
using System.Globalization;
using Hearth.Bench;
using Hearth.Kafka.Native;
using Hearth.Silo.EmbeddedKafka;

Librdkafka.Load();

// Usage: bench [readings=1000000] [thermostats=10000] [partitions=8] [latency rate/s=20000] [latency seconds=5]
//        bench cluster [readings=1000000] [thermostats=10000] [partitions=12]   (needs HEARTH_TEST_POSTGRES)
//        bench placement [thermostats=3000] [readings/s=1500] [partitions=8]     (needs HEARTH_TEST_POSTGRES)
//        bench memory [grains=100000] [partitions=8]
if (args.Length > 0 && args[0] == "cluster")
{
    args = args[1..];
    return await ClusterBench.RunAsync(Arg(0, 1_000_000), Arg(1, 10_000), Arg(2, 12));
}

if (args.Length > 0 && args[0] == "placement")
{
    args = args[1..];
    return await PlacementBench.RunAsync(Arg(0, 3_000), Arg(1, 1_500), Arg(2, 8));
}

if (args.Length > 0 && args[0] == "memory")
{
    args = args[1..];
    return await MemoryBench.RunAsync(Arg(0, 100_000), Arg(1, 8));
}

var readings = Arg(0, 1_000_000);
var thermostats = Arg(1, 10_000);
var partitions = Arg(2, 8);
var rate = Arg(3, 20_000);
var latencySeconds = Arg(4, 5);
var input = new BenchInput(thermostats, readings);

using var kafka = new EmbeddedKafkaCluster();
var work = Path.Combine(Path.GetTempPath(), "hearth-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(work);
Console.WriteLine($"input: {readings:N0} readings + {thermostats:N0} settings for {thermostats:N0} thermostats, " +
                  $"{partitions} partitions, lz4, one embedded broker at {kafka.BootstrapServers}");
Console.WriteLine($"latency: readings stamped with the time they are produced, at {rate:N0}/s for 1 + {latencySeconds} s after the backlog; the first second is not counted; GC ms: how long the collector paused the process meanwhile");
Console.WriteLine();

var systems = new Func<string, BenchSystem>[]
{
    run => new PassthroughSystem(kafka.BootstrapServers, $"{run}-in", $"{run}-out"),
    run => new InMemoryControllerSystem(kafka.BootstrapServers, $"{run}-in", $"{run}-out"),
    run => new SiloSystem(kafka.BootstrapServers, $"{run}-in", $"{run}-out", $"{run}-dead", Path.Combine(work, $"{run}.db")),
};
var results = new List<(string Name, double PerSecond, double DurableSeconds, LatencyProbe.Result Latency, long Commands)>();
for (var i = 0; i < systems.Length; i++)
{
    var run = $"run{i}";
    foreach (var topic in new[] { "in", "out", "dead" })
    {
        kafka.CreateTopic($"{run}-{topic}", partitions);
    }

    input.ProduceTo(kafka.BootstrapServers, $"{run}-in");
    await using var system = systems[i](run);
    Console.Write($"{system.Name}: ");
    await system.StartAsync();
    var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
    // The collector stops every managed thread while it collects the young generations: what that took of the run.
    var pausedAtStart = GC.GetTotalPauseDuration();
    var collectionsAtStart = GC.CollectionCount(0);
    // The silo's first phase: every thermostat's controller is activated (state read, stream subscribed).
    (double Seconds, long Processed)? allActive = null;
    while (system.Processed < input.Messages)
    {
        if (allActive is null && system is SiloSystem { Activations: var active } && active >= thermostats)
        {
            allActive = (Stopwatch.GetElapsedTime(system.StartedAt).TotalSeconds, system.Processed);
        }

        await Task.Delay(5);
    }

    var processedSeconds = Stopwatch.GetElapsedTime(system.StartedAt).TotalSeconds;
    // How busy the machine's cores were meanwhile (the whole process: the embedded broker too).
    var busyCores = (Process.GetCurrentProcess().TotalProcessorTime - cpuAtStart).TotalSeconds / processedSeconds;
    var paused = GC.GetTotalPauseDuration() - pausedAtStart;
    var collections = GC.CollectionCount(0) - collectionsAtStart;
    if (allActive is { } phase && system is SiloSystem silo)
    {
        Console.Write(string.Create(CultureInfo.InvariantCulture,
            $"{thermostats:N0} controllers active at {phase.Seconds:F2} s ({phase.Processed:N0} readings handled by then), " +
            $"{(input.Messages - phase.Processed) / (processedSeconds - phase.Seconds):N0} msgs/s after that, " +
            $"in {silo.Deliveries:N0} deliveries; "));
    }
    await system.CompleteAsync(input.Messages);
    var completeSeconds = Stopwatch.GetElapsedTime(system.StartedAt).TotalSeconds;
    var commands = system switch
    {
        InMemoryControllerSystem m => m.Commands,
        SiloSystem s => s.Commands,
        _ => 0,
    };
    var latency = await LatencyProbe.RunAsync(system, input, rate, TimeSpan.FromSeconds(latencySeconds), input.Messages);
    results.Add((system.Name, input.Messages / processedSeconds, completeSeconds, latency, commands));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{input.Messages / processedSeconds:N0} msgs/s, all handled in {processedSeconds:F2} s ({busyCores:F2} of {Environment.ProcessorCount} cores busy, " +
        $"{paused.TotalMilliseconds:N0} ms paused by {collections} collections), flushed/durable at {completeSeconds:F2} s"));
}

Directory.Delete(work, recursive: true);
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"",-26}{"readings/s",12}{"vs raw",8}{"durable s",11}{"p50 ms",9}{"p99 ms",9}{"samples",9}{"GC ms",8}{"commands",10}"));
var raw = results[0].PerSecond;
foreach (var r in results)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{r.Name,-26}{r.PerSecond,12:N0}{r.PerSecond / raw,8:F2}{r.DurableSeconds,11:F2}{r.Latency.P50Ms,9:F1}{r.Latency.P99Ms,9:F1}{r.Latency.Samples,9:N0}{r.Latency.PausedMs,8:N0}{r.Commands,10:N0}"));
}

if (results[1].Commands != results[2].Commands)
{
    Console.WriteLine($"error: for the same input the silo published {results[2].Commands} commands, the in-memory controller {results[1].Commands}");
    return 1;
}

Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"silo/in-memory ratio: {results[2].PerSecond / results[1].PerSecond:F2}"));
return 0;

int Arg(int index, int fallback) =>
    args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
