using System.Diagnostics;
using Confluent.Kafka;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Silo.Hosting;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Bench;

/// <summary>Something that consumes the input topic and produces to an output topic.</summary>
internal abstract class BenchSystem : IAsyncDisposable
{
    protected BenchSystem(string name, string bootstrap, string input, string output)
    {
        Name = name;
        Bootstrap = bootstrap;
        Input = input;
        Output = output;
    }

    public string Name { get; }

    public string Bootstrap { get; }

    public string Input { get; }

    public string Output { get; }

    /// <summary>Stopwatch timestamp of the moment the system was assigned its partitions.</summary>
    public long StartedAt { get; protected set; }

    /// <summary>Input messages fully handled (their outputs handed to the producer).</summary>
    public abstract long Processed { get; }

    public abstract Task StartAsync();

    /// <summary>Makes everything handled so far visible downstream (and durable, for the silo).</summary>
    public abstract Task CompleteAsync(long processed);

    public abstract ValueTask DisposeAsync();

    /// <summary>The timestamp an output message carries of the input that caused it.</summary>
    public abstract DateTimeOffset? SourceTimestamp(byte[] key, byte[] value);

    protected static ConsumerConfig ConsumerConfig(string bootstrap, string group) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        EnableAutoOffsetStore = false,
        PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        // The same prefetch tuning as the silo's defaults.
        QueuedMinMessages = KafkaStreamOptions.DefaultQueuedMinMessages,
        QueuedMaxMessagesKbytes = KafkaStreamOptions.DefaultQueuedMaxMessagesKbytes,
        FetchWaitMaxMs = FetchWaitMaxMs,
        FetchQueueBackoffMs = 10,
    };

    /// <summary>
    /// The embedded broker answers an empty fetch only after fetch.wait.max.ms, even when data arrives
    /// meanwhile (a real broker answers at once), so every consumer here waits at most this long.
    /// </summary>
    public const int FetchWaitMaxMs = 10;

    protected static ProducerConfig ProducerConfig(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        EnableIdempotence = true,
        Partitioner = Partitioner.Murmur2Random,
        LingerMs = KafkaStreamOptions.DefaultLingerMs,
        CompressionType = CompressionType.Lz4,
        EnableDeliveryReports = false,
    };
}

/// <summary>A consume loop on its own thread with one producer: the shape both baselines share.</summary>
internal abstract class ConsumeLoopSystem : BenchSystem
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IConsumer<byte[], byte[]>? _consumer;
    private Thread? _thread;
    private long _processed;

    protected ConsumeLoopSystem(string name, string bootstrap, string input, string output)
        : base(name, bootstrap, input, output)
    {
        Producer = new ProducerBuilder<byte[], byte[]>(ProducerConfig(bootstrap)).SetLogHandler((_, _) => { }).Build();
    }

    public override long Processed => Volatile.Read(ref _processed);

    protected IProducer<byte[], byte[]> Producer { get; }

    public override async Task StartAsync()
    {
        _consumer = new ConsumerBuilder<byte[], byte[]>(ConsumerConfig(Bootstrap, $"bench-{Name}-{Guid.NewGuid():N}"))
            .SetLogHandler((_, _) => { })
            .SetPartitionsAssignedHandler((_, _) =>
            {
                StartedAt = Stopwatch.GetTimestamp();
                _assigned.TrySetResult();
            })
            .Build();
        _consumer.Subscribe(Input);
        _thread = new Thread(Run) { IsBackground = true, Name = Name };
        _thread.Start();
        await _assigned.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public override Task CompleteAsync(long processed)
    {
        Producer.Flush(TimeSpan.FromMinutes(1));
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _thread?.Join();
        _consumer?.Close();
        _consumer?.Dispose();
        Producer.Dispose();
        return ValueTask.CompletedTask;
    }

    protected abstract void Handle(ConsumeResult<byte[], byte[]> result);

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            var result = _consumer!.Consume(TimeSpan.FromMilliseconds(50));
            if (result?.Message is null)
            {
                continue;
            }

            Handle(result);
            Volatile.Write(ref _processed, _processed + 1);
        }
    }
}

/// <summary>Baseline 1: consume and produce every message unchanged. What Kafka and librdkafka cost here.</summary>
internal sealed class PassthroughSystem(string bootstrap, string input, string output)
    : ConsumeLoopSystem("raw passthrough", bootstrap, input, output)
{
    protected override void Handle(ConsumeResult<byte[], byte[]> result) =>
        BenchInput.Send(Producer, Output, result.Message.Key, result.Message.Value);

    public override DateTimeOffset? SourceTimestamp(byte[] key, byte[] value) =>
        ThermostatJson.DecodeInput(key, value, DateTimeOffset.MinValue).Value is ThermostatReading r ? r.Timestamp : null;
}

/// <summary>Baseline 2: the controllers in a dictionary, no grains, no persistence, no offsets stored.</summary>
internal sealed class InMemoryControllerSystem(string bootstrap, string input, string output)
    : ConsumeLoopSystem("in-memory controller", bootstrap, input, output)
{
    private readonly Dictionary<string, ThermostatController> _controllers = new(StringComparer.Ordinal);

    public long Commands { get; private set; }

    protected override void Handle(ConsumeResult<byte[], byte[]> result)
    {
        var decoded = ThermostatJson.DecodeInput(result.Message.Key, result.Message.Value, result.Message.Timestamp.UtcDateTime);
        if (!decoded.IsSuccess)
        {
            return;
        }

        var message = decoded.Value;
        if (!_controllers.TryGetValue(message.ThermostatId, out var controller))
        {
            controller = new ThermostatController(message.ThermostatId, new ThermostatState());
            _controllers[message.ThermostatId] = controller;
        }

        switch (message)
        {
            case ThermostatSetting setting:
                controller.Apply(setting);
                break;
            case ThermostatReading reading when controller.Apply(reading) is { } command:
                BenchInput.Send(Producer, Output, result.Message.Key, ThermostatJson.Encode(command));
                Commands++;
                break;
        }
    }

    public override DateTimeOffset? SourceTimestamp(byte[] key, byte[] value) => ThermostatJson.DecodeCommand(value).Value?.Timestamp;
}

/// <summary>The product: an Orleans silo with the Kafka stream provider, the controller grains and their state in SQLite.</summary>
internal sealed class SiloSystem(string bootstrap, string input, string output, string deadLetter, string database)
    : BenchSystem("silo (SQLite, durable)", bootstrap, input, output)
{
    private WebApplication? _app;
    private IKafkaStreamStatus? _kafka;
    private ThermostatMetrics? _metrics;

    /// <summary>Messages whose delivery to their controller completed (commands acknowledged, decisions stored).</summary>
    public override long Processed => _kafka?.Partitions().Sum(p => p.Delivered) ?? 0;

    public long Commands => _metrics?.Totals.Commands ?? 0;

    /// <summary>Deliveries of inputs to controllers so far (one delivery carries a thermostat's inputs of one or more reads).</summary>
    public long Deliveries => _metrics is { Deliveries: var (local, remote) } ? local + remote : 0;

    /// <summary>Controllers active on the silo now.</summary>
    public long Activations => _metrics?.Activations ?? 0;

    public override async Task StartAsync()
    {
        _app = SiloApplication.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Kafka:BootstrapServers"] = Bootstrap,
                ["Kafka:GroupId"] = $"bench-silo-{Guid.NewGuid():N}",
                ["Topics:Readings"] = Input,
                ["Topics:Settings"] = Input,
                ["Topics:Commands"] = Output,
                ["Topics:DeadLetter"] = deadLetter,
                ["Storage:ConnectionString"] = $"Data Source={database}",
                ["Kafka:ConsumerProperties:fetch.wait.max.ms"] = FetchWaitMaxMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // Quiet: the categories the silo's appsettings.json raises to Information are named too.
                ["Logging:LogLevel:Default"] = "Error",
                ["Logging:LogLevel:Orleans"] = "Error",
                ["Logging:LogLevel:Orleans.Runtime.Silo"] = "Error",
                ["Logging:LogLevel:Orleans.Hosting.SiloHostedService"] = "Error",
                ["Logging:LogLevel:Orleans.Runtime.MembershipService.MembershipAgent"] = "Error",
            });
            builder.Configuration.AddInMemoryCollection(TestPorts.Silo());
            builder.Configuration.AddInMemoryCollection(TestApiKeys.Settings);
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddFilter("Orleans", LogLevel.Error);
        });
        _kafka = _app.Services.GetRequiredKeyedService<IKafkaStreamStatus>(ThermostatStreams.Provider);
        _metrics = _app.Services.GetRequiredService<ThermostatMetrics>();
        await SiloApplication.StartAsync(_app);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (_kafka.Topics.Count == 0 || _kafka.Partitions().Count < _kafka.Topics.Sum(t => t.Partitions))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The silo did not pull every partition within a minute.");
            }

            await Task.Delay(10);
        }

        StartedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Waits until the checkpoints cover everything processed (committed within the commit interval).</summary>
    public override async Task CompleteAsync(long processed)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (_kafka!.Partitions().Sum(p => p.Checkpoint) < processed)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The checkpoints did not cover the input within two minutes.");
            }

            await Task.Delay(5);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public override DateTimeOffset? SourceTimestamp(byte[] key, byte[] value) => ThermostatJson.DecodeCommand(value).Value?.Timestamp;
}
