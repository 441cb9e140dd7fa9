using System.Diagnostics.Metrics;
using Hearth.Grains.Interfaces;

namespace Hearth.Grains;

/// <summary>What the thermostat controllers did, on the <c>Hearth.Thermostats</c> meter.</summary>
public sealed class ThermostatMetrics
{
    public const string MeterName = "Hearth.Thermostats";

    private static readonly KeyValuePair<string, object?> On = new("action", "on");
    private static readonly KeyValuePair<string, object?> Off = new("action", "off");
    private static readonly KeyValuePair<string, object?> Local = new("origin", "local");
    private static readonly KeyValuePair<string, object?> Remote = new("origin", "remote");

    private readonly TimeProvider _time;
    private readonly Counter<long> _readings;
    private readonly Counter<long> _settings;
    private readonly Counter<long> _commands;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _deliveries;
    private readonly UpDownCounter<long> _activations;
    private readonly Histogram<double> _latency;
    private readonly LatencyWindow _recentLatency = new();
    private long _activeCount;
    private long _readingCount;
    private long _settingCount;
    private long _commandCount;
    private long _localDeliveries;
    private long _remoteDeliveries;

    public ThermostatMetrics(IMeterFactory meters, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _time = time;
        var meter = meters.Create(MeterName);
        _readings = meter.CreateCounter<long>("hearth.thermostat.readings", "{reading}", "Readings applied to controllers");
        _settings = meter.CreateCounter<long>("hearth.thermostat.settings", "{setting}", "Settings applied to controllers");
        _commands = meter.CreateCounter<long>("hearth.thermostat.commands", "{command}", "Heater commands published, by action");
        _duplicates = meter.CreateCounter<long>("hearth.thermostat.duplicates", "{message}",
            "Inputs delivered again (after a crash or a queue move) and skipped because they were applied already");
        _deliveries = meter.CreateCounter<long>("hearth.thermostat.deliveries", "{delivery}",
            "Deliveries of inputs to controllers, by origin: read by the controller's own silo (local) or by another (remote)");
        _activations = meter.CreateUpDownCounter<long>("hearth.thermostat.activations", "{activation}", "Controller activations on this silo");
        _latency = meter.CreateHistogram<double>("hearth.thermostat.command.latency", "ms",
            "From a reading's arrival in Kafka to its command's acknowledgement by Kafka",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] });
    }

    /// <summary>Controller activations on this silo now.</summary>
    public long Activations => Interlocked.Read(ref _activeCount);

    /// <summary>Readings, settings and commands handled on this silo since it started.</summary>
    public (long Readings, long Settings, long Commands) Totals =>
        (Interlocked.Read(ref _readingCount), Interlocked.Read(ref _settingCount), Interlocked.Read(ref _commandCount));

    /// <summary>Deliveries to controllers on this silo since it started: read here, and read by another silo.</summary>
    public (long Local, long Remote) Deliveries => (Interlocked.Read(ref _localDeliveries), Interlocked.Read(ref _remoteDeliveries));

    /// <summary>Records a delivery to a controller of this silo, read by this silo or another.</summary>
    public void Delivery(bool local)
    {
        Interlocked.Increment(ref local ? ref _localDeliveries : ref _remoteDeliveries);
        _deliveries.Add(1, local ? Local : Remote);
    }

    /// <summary>Percentiles of the command latencies recorded since the last call.</summary>
    public (double P50, double P99, int Count) TakeLatencyPercentiles() => _recentLatency.TakePercentiles();

    public void Reading()
    {
        Interlocked.Increment(ref _readingCount);
        _readings.Add(1);
    }

    public void Setting()
    {
        Interlocked.Increment(ref _settingCount);
        _settings.Add(1);
    }

    public void Duplicate() => _duplicates.Add(1);

    /// <param name="readingArrivedAt">When the reading that caused the command reached Kafka (its message timestamp).</param>
    public void Command(HeaterAction action, DateTimeOffset readingArrivedAt)
    {
        Interlocked.Increment(ref _commandCount);
        _commands.Add(1, action == HeaterAction.On ? On : Off);
        if (readingArrivedAt > DateTimeOffset.UnixEpoch)
        {
            var milliseconds = Math.Max(0, (_time.GetUtcNow() - readingArrivedAt).TotalMilliseconds);
            _latency.Record(milliseconds);
            _recentLatency.Add(milliseconds);
        }
    }

    public void Activated()
    {
        Interlocked.Increment(ref _activeCount);
        _activations.Add(1);
    }

    public void Deactivated()
    {
        Interlocked.Decrement(ref _activeCount);
        _activations.Add(-1);
    }
}
