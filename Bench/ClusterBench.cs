using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Hearth.Silo.EmbeddedKafka;
using Hearth.Testing;

namespace Hearth.Bench;

/// <summary>
/// <c>bench cluster</c>: the same input through 1 and then 3 silo processes sharing one embedded broker and
/// one PostgreSQL database (Orleans membership and grain state), measured until every reading is checkpointed.
/// </summary>
internal static class ClusterBench
{
    public static async Task<int> RunAsync(int readings, int thermostats, int partitions)
    {
        using var kafka = new EmbeddedKafkaCluster();
        var input = new BenchInput(thermostats, readings);
        Console.WriteLine($"cluster: {readings:N0} readings + {thermostats:N0} settings, {partitions} partitions, silos as processes, " +
                          $"PostgreSQL state and membership, one embedded broker at {kafka.BootstrapServers}");
        var results = new List<(int Silos, double PerSecond, double Seconds)>();
        foreach (var count in new[] { 1, 3 })
        {
            var run = $"cluster{count}";
            foreach (var topic in new[] { "in", "commands", "dead" })
            {
                kafka.CreateTopic($"{run}-{topic}", partitions);
            }

            // Each as it would be deployed: one silo alone on the machine, three sharing it as local-cluster.sh runs them.
            var sharesMachine = count > 1;
            var database = await PostgresServer.CreateDatabaseAsync();
            var silos = new List<SiloProcess>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    silos.Add(await BenchSilos.StartAsync(kafka.BootstrapServers, run, $"{run}-silo{i}", database, readingsTopic: "in", settingsTopic: "in",
                        sharesMachine: sharesMachine));
                }

                using var http = TestApiKeys.Client(new Uri(silos[0].HttpAddress!));
                await Poll.UntilAsync(async () =>
                {
                    var cluster = await http.GetFromJsonAsync<JsonElement>("/api/cluster");
                    var queues = cluster.GetProperty("queues").EnumerateArray().Select(q => q.GetProperty("owner").GetString()).ToList();
                    return queues.All(q => q is not null) && queues.Distinct().Count() == count;
                }, TimeSpan.FromMinutes(5), "every partition pulled, by every silo");
                var clock = Stopwatch.StartNew();
                input.ProduceTo(kafka.BootstrapServers, $"{run}-in");
                await Poll.UntilAsync(() => Task.FromResult(Committed(kafka.BootstrapServers, run, $"{run}-in", partitions) >= input.Messages),
                    TimeSpan.FromMinutes(5), "every reading checkpointed");
                var seconds = clock.Elapsed.TotalSeconds;
                results.Add((count, input.Messages / seconds, seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{count} silo(s), {(sharesMachine ? "workstation" : "server")} GC: {input.Messages / seconds:N0} msgs/s ({seconds:F2} s from the first reading produced to the last one checkpointed)"));
            }
            finally
            {
                await Task.WhenAll(silos.Select(s => s.StopAsync(TimeSpan.FromSeconds(60))));
                foreach (var silo in silos)
                {
                    await silo.DisposeAsync();
                }

                await PostgresServer.DropDatabaseAsync(database);
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"3 silos / 1 silo: {results[1].PerSecond / results[0].PerSecond:F2} (all processes share this machine's {Environment.ProcessorCount} cores)"));
        return 0;
    }

    /// <summary>The sum of the committed offsets of <paramref name="topic"/>'s partitions.</summary>
    private static long Committed(string bootstrap, string group, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group })
            .SetLogHandler((_, _) => { }).Build();
        return consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10))
            .Sum(c => Math.Max(0, c.Offset.Value));
    }
}
