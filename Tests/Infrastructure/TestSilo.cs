using Confluent.Kafka;
using Hearth.Grains;
using Hearth.Silo.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Hearth.Tests.Infrastructure;

/// <summary>A whole silo (HTTP and Orleans) hosted in the test process, against a test's topics and its own SQLite file.</summary>
public sealed class TestSilo : IStoresInput, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly WebApplication _app;
    private readonly KafkaCheckpoints _checkpoints;
    private bool _stopped;

    private TestSilo(WebApplication app, string name, KafkaCheckpoints checkpoints)
    {
        _app = app;
        Name = name;
        _checkpoints = checkpoints;
    }

    public string Name { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>An HTTP client of the silo that sends the control key (<see cref="TestApiKeys"/>), or <paramref name="key"/>.</summary>
    public HttpClient Http(string? key = null) => TestApiKeys.Client(HttpAddress, key);

    /// <summary>The silo's HTTP address (it listens on a free port of 127.0.0.1).</summary>
    public Uri HttpAddress => new(Services.GetRequiredService<SiloEndpoints>().HttpAddress);

    /// <summary>The partitions the silo pulls, with what it did on each.</summary>
    public IKafkaStreamStatus Kafka => Services.GetRequiredKeyedService<IKafkaStreamStatus>(ThermostatStreams.Provider);

    public ThermostatMetrics Metrics => Services.GetRequiredService<ThermostatMetrics>();

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    /// <summary>What the silo's own classes logged.</summary>
    public LogRecorder Logs => Services.GetRequiredService<LogRecorder>();

    /// <summary>The settings every test silo runs with, before a test's own.</summary>
    public static Dictionary<string, string?> Settings(string bootstrapServers, TestTopics topics, string databasePath, string name) =>
        TestSettings.Kafka(bootstrapServers, topics).With(new Dictionary<string, string?>
        {
            ["Silo:Name"] = name,
            ["Orleans:ClusterId"] = "test-" + name,
            ["Storage:Provider"] = "sqlite",
            ["Storage:ConnectionString"] = $"Data Source={databasePath}",
        }).With(TestPorts.Silo()).With(TestApiKeys.Settings);

    /// <summary>Builds a test silo's application, not started: its settings, then <paramref name="overrides"/>; its log to <paramref name="output"/>.</summary>
    /// <param name="services">Services of the test's own, put in before the silo's (a stand-in the silo takes if given one).</param>
    public static WebApplication Build(
        string bootstrapServers, TestTopics topics, string databasePath, ITestOutputHelper? output,
        IDictionary<string, string?>? overrides = null, string name = "silo", Action<IServiceCollection>? services = null)
    {
        var settings = Settings(bootstrapServers, topics, databasePath, name).With(overrides);
        return SiloApplication.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Orleans", LogLevel.Warning);
            builder.Logging.AddFilter("Polly", LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            services?.Invoke(builder.Services);
            builder.Services.AddSingleton<LogRecorder>();
            builder.Services.AddSingleton<ILoggerProvider>(sp => sp.GetRequiredService<LogRecorder>());
            if (output is not null)
            {
                builder.Logging.AddProvider(new TestOutputLoggerProvider(output, name));
            }
        });
    }

    /// <summary>Starts a silo and waits until it pulls every partition of its topics (a silo joining others: until its provider runs).</summary>
    public static async Task<TestSilo> StartAsync(
        string bootstrapServers, TestTopics topics, string databasePath, ITestOutputHelper? output,
        IDictionary<string, string?>? overrides = null, string name = "silo", bool waitForEveryPartition = true,
        Action<IServiceCollection>? services = null)
    {
        var app = Build(bootstrapServers, topics, databasePath, output, overrides, name, services);
        var silo = new TestSilo(app, name, new KafkaCheckpoints(bootstrapServers, topics.GroupId));
        try
        {
            await SiloApplication.StartAsync(app);
        }
        catch (Exception e)
        {
            // A silo that failed to start refuses a stop; one whose host failed after it started was stopped.
            silo._stopped = true;
            var partWay = app.Services.GetRequiredService<SiloStartProgress>().FailedPartWay;
            await app.DisposeAsync();
            if (partWay)
            {
                // What started of it runs on in this process (its grain directory spins on a disposed membership
                // service, two cores' worth), slowing every later test: such a start belongs in a silo process.
                throw new InvalidOperationException(
                    $"{name} failed part-way through Orleans' start, which leaves it running in the test process; " +
                    "test a start that fails there with SiloProcess.", e);
            }

            throw;
        }

        try
        {
            await Poll.UntilAsync(
                () => Task.FromResult(silo.Kafka.Topics.Count > 0 &&
                    (!waitForEveryPartition || silo.Kafka.Partitions().Count == silo.Kafka.Topics.Sum(t => t.Partitions))),
                StartTimeout, waitForEveryPartition ? $"{name} pulling every partition of its topics" : $"{name} reading its topics");
            return silo;
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits until the silo has committed checkpoints covering every message before <paramref name="ends"/>:
    /// by then their decisions are stored and their commands are in Kafka.
    /// </summary>
    public Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase) =>
        _checkpoints.WaitForStoredAsync(ends, timeout, phase);

    /// <summary>Stops the silo gracefully: its grains write their state, its partitions commit their checkpoints.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}
