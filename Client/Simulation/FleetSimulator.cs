using System.Diagnostics;
using Confluent.Kafka;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;

namespace Hearth.Client.Simulation;

/// <summary>Progress of a running simulation.</summary>
/// <param name="Elapsed">Real time since the readings started.</param>
/// <param name="ReadingsPerSecond">Over the last report interval.</param>
/// <param name="InBand">Share of thermostats inside their band now.</param>
/// <param name="WithinOneDegree">Share of thermostats at most one degree outside their band now.</param>
public sealed record FleetProgress(
    TimeSpan Elapsed, long Readings, double ReadingsPerSecond, long Commands, int HeatersOn,
    double InBand, double WithinOneDegree, bool WarmedUp);

/// <summary>What a simulation run measured.</summary>
/// <param name="MinWithinOneDegree">Lowest share within one degree of the band after warm-up (NaN when the run ended before warm-up).</param>
/// <param name="MeanWithinOneDegree">Mean of that share over the samples after warm-up.</param>
public sealed record FleetSummary(
    int Thermostats, TimeSpan Elapsed, long Readings, long Commands, long DuplicateCommands,
    double FinalInBand, double FinalWithinOneDegree, double MinWithinOneDegree, double MeanWithinOneDegree, int Samples);

/// <summary>
/// A closed-loop fleet: rooms whose heaters obey the heater commands, and thermostats that report their
/// room's temperature as readings. Publishes every thermostat's setting first, then readings at the
/// configured rate, while listening to commands.
/// </summary>
public sealed class FleetSimulator
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private readonly KafkaEndpoint _kafka;
    private readonly SimulationOptions _options;
    private readonly SimulatedRoom[] _rooms;
    private readonly Dictionary<string, SimulatedRoom> _byId;
    private readonly Stopwatch _clock = new();
    private long _commands;
    private long _duplicates;

    public FleetSimulator(KafkaEndpoint kafka, SimulationOptions options)
    {
        _kafka = kafka;
        _options = options;
        var random = new Random(options.Seed);
        var heatPerSecond = options.TimeScale / 60 / options.HeatMinutes;
        var coolPerSecond = options.TimeScale / 60 / options.CoolMinutes;
        var steps = (int)Math.Floor((options.SetpointMax - options.SetpointMin) * 2);
        _rooms = Enumerable.Range(0, options.Thermostats).Select(i =>
        {
            var setpoint = options.SetpointMin + (random.Next(steps + 1) / 2.0);
            var start = setpoint + ((random.NextDouble() * 2) - 1) * options.InitialSpread;
            return new SimulatedRoom($"{options.IdPrefix}{i}", setpoint, options.Band, start, heatPerSecond, coolPerSecond);
        }).ToArray();
        _byId = _rooms.ToDictionary(r => r.Id, StringComparer.Ordinal);
    }

    public IReadOnlyList<SimulatedRoom> Rooms => _rooms;

    /// <summary>Runs until <see cref="SimulationOptions.Duration"/> has passed or <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task<FleetSummary> RunAsync(IProgress<FleetProgress>? progress, CancellationToken cancellationToken)
    {
        using var commands = _kafka.CreateCommandConsumer(fromBeginning: false);
        using var producer = _kafka.CreateProducer();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _clock.Start();
        var listener = Task.Factory.StartNew(() => Listen(commands, stop.Token), TaskCreationOptions.LongRunning);

        foreach (var room in _rooms)
        {
            var setting = new ThermostatSetting(room.Id, room.Setpoint, room.Band, room.Band);
            producer.Produce(_kafka.SettingsTopic, new Message<string, byte[]> { Key = room.Id, Value = ThermostatJson.Encode(setting) });
        }

        producer.Flush(cancellationToken);
        var summary = await ProduceReadingsAsync(producer, progress, stop.Token).ConfigureAwait(false);
        producer.Flush(TimeSpan.FromSeconds(10));
        stop.Cancel();
        await listener.ConfigureAwait(false);
        return summary;
    }

    private async Task<FleetSummary> ProduceReadingsAsync(
        IProducer<string, byte[]> producer, IProgress<FleetProgress>? progress, CancellationToken cancellationToken)
    {
        var start = Now();
        var next = 0;
        long sent = 0;
        var lastReport = start;
        long readingsAtLastReport = 0;
        var samples = new List<double>();
        using var timer = new PeriodicTimer(Tick);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = Now();
                var elapsed = now - start;
                if (_options.Duration is { } duration && elapsed >= duration.TotalSeconds)
                {
                    break;
                }

                // Send what is due at this instant, round-robin over the fleet: each thermostat every N/rate seconds.
                var due = (long)(elapsed * _options.Rate);
                for (; sent < due; sent++)
                {
                    var room = _rooms[next];
                    next = (next + 1) % _rooms.Length;
                    var reading = new ThermostatReading(room.Id, Math.Round(room.TemperatureAt(now), 2), DateTimeOffset.UtcNow);
                    producer.Produce(_kafka.ReadingsTopic, new Message<string, byte[]> { Key = room.Id, Value = ThermostatJson.Encode(reading) });
                }

                if (now - lastReport >= _options.ReportEvery.TotalSeconds)
                {
                    var sample = Sample(now, elapsed, sent);
                    if (sample.WarmedUp)
                    {
                        samples.Add(sample.WithinOneDegree);
                    }

                    progress?.Report(sample with { ReadingsPerSecond = (sent - readingsAtLastReport) / (now - lastReport) });
                    lastReport = now;
                    readingsAtLastReport = sent;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        var end = Now();
        var final = Sample(end, end - start, sent);
        return new FleetSummary(
            _rooms.Length, TimeSpan.FromSeconds(end - start), sent, Interlocked.Read(ref _commands), Interlocked.Read(ref _duplicates),
            final.InBand, final.WithinOneDegree,
            samples.Count > 0 ? samples.Min() : double.NaN,
            samples.Count > 0 ? samples.Average() : double.NaN,
            samples.Count);
    }

    private FleetProgress Sample(double now, double elapsed, long readings)
    {
        var inBand = 0;
        var withinOne = 0;
        var heaters = 0;
        foreach (var room in _rooms)
        {
            var distance = room.DistanceFromBand(now);
            inBand += distance == 0 ? 1 : 0;
            withinOne += distance <= 1 ? 1 : 0;
            heaters += room.HeaterOn ? 1 : 0;
        }

        return new FleetProgress(
            TimeSpan.FromSeconds(elapsed), readings, 0, Interlocked.Read(ref _commands), heaters,
            (double)inBand / _rooms.Length, (double)withinOne / _rooms.Length, elapsed >= _options.Warmup.TotalSeconds);
    }

    private void Listen(IConsumer<string?, byte[]> consumer, CancellationToken cancellationToken)
    {
        foreach (var (_, decoded) in KafkaEndpoint.ReadCommands(consumer, cancellationToken))
        {
            if (!decoded.IsSuccess || !_byId.TryGetValue(decoded.Value.ThermostatId, out var room))
            {
                continue; // Another fleet's thermostat, or not a command.
            }

            Interlocked.Increment(ref _commands);
            if (!room.Apply(decoded.Value.Action == HeaterAction.On, decoded.Value.Seq, Now()))
            {
                Interlocked.Increment(ref _duplicates);
            }
        }
    }

    private double Now() => _clock.Elapsed.TotalSeconds;
}
