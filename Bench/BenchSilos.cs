using System.Globalization;
using Hearth.Testing;

namespace Hearth.Bench;

/// <summary>Silo processes as the benchmarks run them: one run's topics (<c>{run}-readings</c>...) on the bench's embedded broker.</summary>
internal static class BenchSilos
{
    /// <summary>
    /// Starts a silo and waits until it is active and listening. With a PostgreSQL <paramref name="database"/> it
    /// joins the run's cluster; without one it is a single silo on a SQLite file in <paramref name="directory"/>.
    /// With <paramref name="sharesMachine"/>, it runs as silos sharing a machine do (<see cref="SiloProcess.SharingAMachine"/>).
    /// </summary>
    public static async Task<SiloProcess> StartAsync(string bootstrap, string run, string name, string? database, string? directory = null,
        string readingsTopic = "readings", string settingsTopic = "settings", IReadOnlyDictionary<string, string?>? more = null,
        bool sharesMachine = false)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Silo:Name"] = name,
            ["Orleans:AdvertisedAddress"] = "127.0.0.1",
            ["Orleans:ClusterId"] = run,
            ["Kafka:BootstrapServers"] = bootstrap,
            ["Kafka:GroupId"] = run,
            ["Kafka:ConsumerProperties:fetch.wait.max.ms"] = BenchSystem.FetchWaitMaxMs.ToString(CultureInfo.InvariantCulture),
            ["Topics:Readings"] = $"{run}-{readingsTopic}",
            ["Topics:Settings"] = $"{run}-{settingsTopic}",
            ["Topics:Commands"] = $"{run}-commands",
            ["Topics:DeadLetter"] = $"{run}-dead",
            ["Storage:Provider"] = database is null ? "sqlite" : "postgres",
            ["Storage:ConnectionString"] = database ?? $"Data Source={Path.Combine(directory ?? Path.GetTempPath(), run + ".db")}",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Hearth.Silo.Hosting.ActiveSiloAnnouncer"] = "Information",
        };
        foreach (var (key, value) in TestPorts.Silo().Concat(TestApiKeys.Settings).Concat(more ?? new Dictionary<string, string?>()))
        {
            settings[key] = value;
        }

        var silo = SiloProcess.Start(name, settings, output: null, sharesMachine ? SiloProcess.SharingAMachine : null);
        await silo.WaitUntilActiveAsync(TimeSpan.FromSeconds(90));
        await silo.WaitForLineAsync(l => l.Contains("Now listening on:", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "listening");
        return silo;
    }
}
