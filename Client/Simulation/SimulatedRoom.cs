namespace Hearth.Client.Simulation;

/// <summary>
/// A room with a thermostat and a heater: temperature changes linearly with (simulated) time, up while
/// the heater is on and down while it is off. Thread-safe: readings and heater commands arrive on
/// different threads.
/// </summary>
public sealed class SimulatedRoom
{
    private readonly Lock _lock = new();
    private readonly double _heatPerSecond;
    private readonly double _coolPerSecond;
    private double _temperature;
    private double _since;
    private bool _heaterOn;
    private long _lastSeq;

    /// <param name="heatPerSecond">Degrees per real second while heating.</param>
    /// <param name="coolPerSecond">Degrees per real second while cooling.</param>
    /// <remarks>The room starts at <paramref name="temperature"/> when the simulation starts (second 0).</remarks>
    public SimulatedRoom(string id, double setpoint, double band, double temperature,
        double heatPerSecond, double coolPerSecond)
    {
        Id = id;
        Setpoint = setpoint;
        Band = band;
        _temperature = temperature;
        _heatPerSecond = heatPerSecond;
        _coolPerSecond = coolPerSecond;
    }

    public string Id { get; }

    public double Setpoint { get; }

    public double Band { get; }

    public bool HeaterOn
    {
        get
        {
            lock (_lock)
            {
                return _heaterOn;
            }
        }
    }

    /// <summary>The temperature at <paramref name="now"/> (real seconds since start).</summary>
    public double TemperatureAt(double now)
    {
        lock (_lock)
        {
            return Evolve(now);
        }
    }

    /// <summary>Applies a heater command; false if it is a duplicate or older than one applied already.</summary>
    public bool Apply(bool heaterOn, long seq, double now)
    {
        lock (_lock)
        {
            if (seq <= _lastSeq)
            {
                return false;
            }

            _lastSeq = seq;
            _temperature = Evolve(now);
            _since = now;
            _heaterOn = heaterOn;
            return true;
        }
    }

    /// <summary>How far the temperature at <paramref name="now"/> is outside the band (0 inside).</summary>
    public double DistanceFromBand(double now)
    {
        var t = TemperatureAt(now);
        return t < Setpoint - Band ? Setpoint - Band - t
            : t > Setpoint + Band ? t - (Setpoint + Band)
            : 0;
    }

    private double Evolve(double now)
    {
        var elapsed = Math.Max(0, now - _since);
        return _temperature + (_heaterOn ? _heatPerSecond : -_coolPerSecond) * elapsed;
    }
}
