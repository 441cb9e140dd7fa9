using Confluent.Kafka;
using Hearth.Runtime.Hosting;
using Hearth.Runtime.Membership;
using Hearth.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Hearth.Tests.Infrastructure;

/// <summary>A silo hosted in the test process, against a test's topics and its own SQLite file.</summary>
public sealed class TestSilo : IStoresInput, IAsyncDisposable
{
    private static readonly TimeSpan AssignmentTimeout = TimeSpan.FromSeconds(60);

    private readonly WebApplication _app;
    private bool _stopped;

    private TestSilo(WebApplication app, string name)
    {
        _app = app;
        Name = name;
        Status = app.Services.GetRequiredService<GrainRuntimeStatus>();
    }

    public string Name { get; }

    public GrainRuntimeStatus Status { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The silo's HTTP address (it listens on a free port of 127.0.0.1).</summary>
    public Uri HttpAddress => new(Services.GetRequiredService<SiloIdentity>().HttpAddress
        ?? throw new InvalidOperationException("The silo has not started listening."));

    /// <summary>Starts a silo and waits until the group has assigned it partitions.</summary>
    public static async Task<TestSilo> StartAsync(
        string bootstrapServers, TestTopics topics, string databasePath, ITestOutputHelper? output,
        IDictionary<string, string?>? overrides = null, string name = "silo")
    {
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["Silo:Name"] = name,
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:GroupId"] = topics.GroupId,
            ["Kafka:SessionTimeoutMs"] = "6000",
            // The embedded broker answers an empty fetch only after fetch.wait.max.ms, even when data arrives meanwhile.
            ["Kafka:ConsumerProperties:fetch.wait.max.ms"] = "10",
            ["Topics:Readings"] = topics.Readings,
            ["Topics:Settings"] = topics.Settings,
            ["Topics:Commands"] = topics.Commands,
            ["Topics:DeadLetter"] = topics.DeadLetter,
            ["Topics:Partitions"] = topics.Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Grains:CheckpointInterval"] = "00:00:00.100",
            ["Storage:Provider"] = "sqlite",
            ["Storage:ConnectionString"] = $"Data Source={databasePath}",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var app = SiloApplication.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            if (output is not null)
            {
                builder.Logging.AddProvider(new TestOutputLoggerProvider(output, name));
            }
        });
        var silo = new TestSilo(app, name);
        await app.StartAsync();
        await silo.Status.FirstAssignment.WaitAsync(AssignmentTimeout);
        return silo;
    }

    /// <summary>
    /// Waits until this silo has stored a checkpoint covering every message before
    /// <paramref name="ends"/>: by then their state is durable and their outputs are in Kafka.
    /// </summary>
    public Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase) =>
        WaitForStoredAsync(ends, timeout, phase, [this]);

    /// <summary>Like <see cref="WaitForStoredAsync(IReadOnlyDictionary{TopicPartition,long},TimeSpan,string)"/>, over several silos together.</summary>
    public static Task WaitForStoredAsync(
        IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase, IReadOnlyList<TestSilo> silos)
    {
        bool Stored(KeyValuePair<TopicPartition, long> end) =>
            end.Value == 0 || silos.Any(s => s.Status.StoredOffsets.TryGetValue(end.Key, out var stored) && stored >= end.Value);

        return WaitUntilAsync(silos, () => ends.All(Stored), timeout, $"{phase}: checkpoints reaching the input's end", () =>
            string.Join("; ", ends.Where(e => !Stored(e)).Select(e =>
                $"{e.Key.Topic}[{e.Key.Partition}] wants {e.Value}, stored {string.Join("/", silos.Select(s => s.Status.StoredOffsets.TryGetValue(e.Key, out var v) ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-"))}")));
    }

    /// <summary>Several silos that store input together, each its own partitions.</summary>
    public static IStoresInput Together(params TestSilo[] silos) => new Group(silos);

    /// <summary>Waits until <paramref name="condition"/> holds, checking it again after each checkpoint and idle sweep.</summary>
    public Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) => WaitUntilAsync([this], condition, timeout, what);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, checking it again after each checkpoint and idle sweep
    /// of any of <paramref name="silos"/>: the events that change what the tests look at.
    /// </summary>
    public static async Task WaitUntilAsync(
        IReadOnlyList<TestSilo> silos, Func<bool> condition, TimeSpan timeout, string what, Func<string>? describe = null)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (condition())
            {
                done.TrySetResult();
            }
        }

        // Armed before checking, so an event between the check and the subscription is not missed.
        foreach (var silo in silos)
        {
            silo.Status.CheckpointStored += Check;
            silo.Status.IdleSweepCompleted += Check;
        }

        try
        {
            Check();
            await done.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{what}: not reached within {timeout}{(describe is null ? "" : ": " + describe())}");
        }
        finally
        {
            foreach (var silo in silos)
            {
                silo.Status.CheckpointStored -= Check;
                silo.Status.IdleSweepCompleted -= Check;
            }
        }
    }

    /// <summary>Stops the silo gracefully (leaves the group after a final checkpoint).</summary>
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

    private sealed class Group(TestSilo[] silos) : IStoresInput
    {
        public Task WaitForStoredAsync(IReadOnlyDictionary<TopicPartition, long> ends, TimeSpan timeout, string phase) =>
            TestSilo.WaitForStoredAsync(ends, timeout, phase, silos);
    }
}
