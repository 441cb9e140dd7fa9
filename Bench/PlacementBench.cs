using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Silo.EmbeddedKafka;
using Hearth.Testing;

namespace Hearth.Bench;

/// <summary>
/// <c>bench placement</c>: three silo processes under steady load, then a fourth joins. For each placement
/// (Orleans' resource-optimized default, prefer-local) with and without the activation rebalancer: the share
/// of deliveries that cross silos before and after the join, and how soon the new silo pulls partitions and
/// hosts controllers.
/// </summary>
internal static class PlacementBench
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(int thermostats, int rate, int partitions)
    {
        using var kafka = new EmbeddedKafkaCluster();
        Console.WriteLine($"placement: {thermostats:N0} thermostats, {rate:N0} readings/s, {partitions} partitions per topic, " +
                          $"3 silo processes then a 4th, PostgreSQL, one embedded broker at {kafka.BootstrapServers}");
        Console.WriteLine("cross-silo share: of the deliveries to controllers, those read from Kafka by another silo than the controller's; " +
                          $"windows of {Window.TotalSeconds:F0} s");
        Console.WriteLine();
        Console.WriteLine($"{"placement",-20}{"rebalance",-11}{"before",8}{"join+0",8}{"+30s",8}{"+60s",8}{"+90s",8}{"queues at",11}{"grains at",11}{"4th silo's share",18}");
        foreach (var (placement, rebalance) in new[] { ("resource-optimized", false), ("resource-optimized", true), ("prefer-local", false), ("prefer-local", true) })
        {
            await RunOneAsync(kafka, thermostats, rate, partitions, placement, rebalance);
        }

        return 0;
    }

    private static async Task RunOneAsync(EmbeddedKafkaCluster kafka, int thermostats, int rate, int partitions, string placement, bool rebalance)
    {
        var run = $"placement-{Guid.NewGuid():N}"[..20];
        foreach (var topic in new[] { "readings", "settings", "commands", "dead" })
        {
            kafka.CreateTopic($"{run}-{topic}", partitions);
        }

        var database = await PostgresServer.CreateDatabaseAsync();
        var silos = new List<SiloProcess>();
        using var stop = new CancellationTokenSource();
        Task? load = null;
        try
        {
            foreach (var i in Enumerable.Range(1, 3))
            {
                silos.Add(await StartAsync(kafka, run, database, $"silo-{i}", placement, rebalance));
            }

            var ids = Enumerable.Range(0, thermostats).Select(i => $"pl-{i}").ToList();
            using (var producer = Producer(kafka))
            {
                foreach (var id in ids)
                {
                    producer.Produce($"{run}-settings", new Message<string, byte[]> { Key = id, Value = ThermostatJson.Encode(new ThermostatSetting(id, 21, 0.5, 0.5)) });
                }

                producer.Flush(TimeSpan.FromSeconds(30));
            }

            load = Task.Factory.StartNew(() => Load(kafka, $"{run}-readings", ids, rate, stop.Token), TaskCreationOptions.LongRunning);
            await Task.Delay(Window);
            var before = await CrossSiloShareAsync(silos, Window);

            var clock = Stopwatch.StartNew();
            var joined = await StartAsync(kafka, run, database, "silo-4", placement, rebalance);
            silos.Add(joined);
            using var http = TestApiKeys.Client(new Uri(joined.HttpAddress!));
            TimeSpan? queuesAt = null, grainsAt = null;
            var shares = new List<double>();
            var fourth = 0.0;
            for (var window = 0; window < 4; window++)
            {
                var end = clock.Elapsed + Window;
                var counters = await DeliveriesAsync(silos);
                while (clock.Elapsed < end)
                {
                    var me = await MeAsync(http);
                    if (queuesAt is null && me.GetProperty("queues").GetArrayLength() > 0)
                    {
                        queuesAt = clock.Elapsed;
                    }

                    if (grainsAt is null && me.GetProperty("activations").GetInt64() > 0)
                    {
                        grainsAt = clock.Elapsed;
                    }

                    await Task.Delay(500);
                }

                var after = await DeliveriesAsync(silos);
                shares.Add(Share(counters, after));
                // The new silo's part of all deliveries to controllers in the window.
                var all = Enumerable.Range(0, after.Count).Sum(i => Total(after[i]) - Total(counters[i]));
                fourth = all == 0 ? 0 : (double)(Total(after[^1]) - Total(counters[^1])) / all;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{placement,-20}{(rebalance ? "on" : "off"),-11}{before,8:P0}{shares[0],8:P0}{shares[1],8:P0}{shares[2],8:P0}{shares[3],8:P0}" +
                $"{(queuesAt is { } q ? $"{q.TotalSeconds:F1} s" : "never"),11}{(grainsAt is { } g ? $"{g.TotalSeconds:F1} s" : "never"),11}{fourth,18:P0}"));
        }
        finally
        {
            await stop.CancelAsync();
            if (load is not null)
            {
                await load;
            }

            await Task.WhenAll(silos.Select(s => s.StopAsync(TimeSpan.FromSeconds(60))));
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }

            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    private static Task<SiloProcess> StartAsync(EmbeddedKafkaCluster kafka, string run, string database, string name, string placement, bool rebalance) =>
        BenchSilos.StartAsync(kafka.BootstrapServers, run, name, database, more: new Dictionary<string, string?>
        {
            ["Grains:Placement"] = placement,
            ["Grains:Rebalance"] = rebalance ? "true" : "false",
        }, sharesMachine: true);

    private static async Task<JsonElement> MeAsync(HttpClient http)
    {
        var cluster = await http.GetFromJsonAsync<JsonElement>("/api/cluster");
        var servedBy = cluster.GetProperty("servedBy").GetString();
        return cluster.GetProperty("silos").EnumerateArray().Single(s => s.GetProperty("name").GetString() == servedBy);
    }

    private static async Task<double> CrossSiloShareAsync(IReadOnlyList<SiloProcess> silos, TimeSpan window)
    {
        var before = await DeliveriesAsync(silos);
        await Task.Delay(window);
        return Share(before, await DeliveriesAsync(silos));
    }

    private static double Share(IReadOnlyList<(long Local, long Remote)> before, IReadOnlyList<(long Local, long Remote)> after)
    {
        long local = 0, remote = 0;
        for (var i = 0; i < after.Count; i++)
        {
            var start = i < before.Count ? before[i] : (0, 0);
            local += after[i].Local - start.Local;
            remote += after[i].Remote - start.Remote;
        }

        return local + remote == 0 ? 0 : (double)remote / (local + remote);
    }

    private static long Total((long Local, long Remote) deliveries) => deliveries.Local + deliveries.Remote;

    /// <summary>Each silo's delivery counters, from its /metrics.</summary>
    private static async Task<List<(long Local, long Remote)>> DeliveriesAsync(IReadOnlyList<SiloProcess> silos)
    {
        var result = new List<(long, long)>();
        foreach (var silo in silos)
        {
            using var http = TestApiKeys.Client(new Uri(silo.HttpAddress!));
            var text = await http.GetStringAsync("/metrics");
            long Count(string origin) => (long)PrometheusText.Sum(text, "hearth_thermostat_deliveries_total", "origin", origin);
            result.Add((Count("local"), Count("remote")));
        }

        return result;
    }

    private static IProducer<string, byte[]> Producer(EmbeddedKafkaCluster kafka) =>
        new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            Partitioner = Partitioner.Murmur2Random,
            EnableIdempotence = true,
            LingerMs = 5,
        }).SetLogHandler((_, _) => { }).Build();

    private static void Load(EmbeddedKafkaCluster kafka, string topic, IReadOnlyList<string> ids, int rate, CancellationToken stop)
    {
        using var producer = Producer(kafka);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (!stop.IsCancellationRequested)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                var id = ids[(int)(sent % ids.Count)];
                var reading = new ThermostatReading(id, 19 + (4 * Math.Sin(sent / (double)ids.Count)), DateTimeOffset.UtcNow);
                producer.Produce(topic, new Message<string, byte[]> { Key = id, Value = ThermostatJson.Encode(reading) });
            }

            stop.WaitHandle.WaitOne(5);
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }
}
