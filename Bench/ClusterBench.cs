using SiloStatus = Hearth.Runtime.Membership.SiloStatus;
using System.Diagnostics;
using System.Globalization;
using Hearth.Runtime.Membership;
using Hearth.Runtime.Storage.AdoNet;
using Hearth.Runtime.Storage.Postgres;
using Hearth.Silo.EmbeddedKafka;
using Hearth.TestingHost;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Hearth.Bench;

/// <summary>
/// <c>bench cluster</c>: the same input through 1 and then 3 silo processes sharing one embedded broker and
/// one PostgreSQL database, measured until every reading's state and offset are durable.
/// </summary>
internal static class ClusterBench
{
    public static async Task<int> RunAsync(int readings, int thermostats, int partitions)
    {
        using var kafka = new EmbeddedKafkaCluster();
        var input = new BenchInput(thermostats, readings);
        Console.WriteLine($"cluster: {readings:N0} readings + {thermostats:N0} settings, {partitions} partitions, silos as processes, " +
                          $"PostgreSQL state, one embedded broker at {kafka.BootstrapServers}");
        var results = new List<(int Silos, double PerSecond, double Seconds)>();
        foreach (var count in new[] { 1, 3 })
        {
            var run = $"cluster{count}";
            foreach (var topic in new[] { "in", "out", "dead" })
            {
                kafka.CreateTopic($"{run}-{topic}", partitions);
            }

            var database = await PostgresServer.CreateDatabaseAsync();
            var dialect = new PostgresDialect(database);
            var membership = new AdoNetMembershipTable(new AdoNetDatabase(dialect, TimeProvider.System, NullLogger<AdoNetDatabase>.Instance));
            var silos = new List<SiloProcess>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    var silo = SiloProcess.Start($"{run}-silo{i}", Settings(kafka.BootstrapServers, run, database, $"{run}-silo{i}"), output: null);
                    silos.Add(silo);
                    await silo.WaitUntilActiveAsync(TimeSpan.FromSeconds(90));
                }

                await Poll.UntilAsync(async () =>
                {
                    var active = (await membership.ReadSilosAsync(run, CancellationToken.None)).Where(s => s.Status == SiloStatus.Active).ToList();
                    return active.Count == count && active.Sum(s => s.Partitions.Count) == partitions;
                }, TimeSpan.FromMinutes(5), "every partition owned");
                var clock = Stopwatch.StartNew();
                input.ProduceTo(kafka.BootstrapServers, $"{run}-in");
                await Poll.UntilAsync(async () => await StoredAsync(database, run) >= input.Messages, TimeSpan.FromMinutes(5), "every reading durable");
                var seconds = clock.Elapsed.TotalSeconds;
                results.Add((count, input.Messages / seconds, seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{count} silo(s): {input.Messages / seconds:N0} msgs/s durable ({seconds:F2} s from the first reading produced to the last one stored)"));
            }
            finally
            {
                await Task.WhenAll(silos.Select(s => s.StopAsync(TimeSpan.FromSeconds(60))));
                foreach (var silo in silos)
                {
                    await silo.DisposeAsync();
                }

                dialect.Dispose();
                await PostgresServer.DropDatabaseAsync(database);
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"3 silos / 1 silo: {results[1].PerSecond / results[0].PerSecond:F2} (all processes share this machine's {Environment.ProcessorCount} cores)"));
        return 0;
    }

    private static Dictionary<string, string?> Settings(string bootstrap, string run, string database, string name) => new()
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Silo:Name"] = name,
        ["Kafka:BootstrapServers"] = bootstrap,
        ["Kafka:GroupId"] = run,
        ["Kafka:SessionTimeoutMs"] = "3000",
        ["Kafka:ConsumerProperties:fetch.wait.max.ms"] = BenchSystem.FetchWaitMaxMs.ToString(CultureInfo.InvariantCulture),
        ["Topics:Readings"] = $"{run}-in",
        ["Topics:Settings"] = $"{run}-in",
        ["Topics:Commands"] = $"{run}-out",
        ["Topics:DeadLetter"] = $"{run}-dead",
        ["Storage:Provider"] = "postgres",
        ["Storage:ConnectionString"] = database,
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Hearth.Runtime.Membership"] = "Information",
    };

    private static Task<long> StoredAsync(string database, string run) =>
        ScalarAsync(database, "SELECT COALESCE(SUM(next_offset), 0) FROM hearth_partition_offset WHERE group_id = @g", run);

    private static async Task<long> ScalarAsync(string database, string sql, string group)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("g", group);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
}
