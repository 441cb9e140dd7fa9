namespace Hearth.Client.Simulation;

/// <summary>The shape of a simulated fleet.</summary>
public sealed record SimulationOptions
{
    /// <summary>How many thermostats, with ids <c>{IdPrefix}0 .. {IdPrefix}N-1</c>.</summary>
    public int Thermostats { get; init; } = 1000;

    /// <summary>Readings per second over the whole fleet (each thermostat reports every Thermostats/Rate seconds).</summary>
    public double Rate { get; init; } = 1000;

    /// <summary>How long to run; null runs until cancelled.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Simulated seconds per real second.</summary>
    public double TimeScale { get; init; } = 60;

    /// <summary>While a heater is on, its room warms by one degree every this many simulated minutes.</summary>
    public double HeatMinutes { get; init; } = 2;

    /// <summary>While a heater is off, its room cools by one degree every this many simulated minutes.</summary>
    public double CoolMinutes { get; init; } = 4;

    /// <summary>Time to reach the band before the in-band share counts for the summary.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Setpoints are drawn uniformly from this range (half-degree steps).</summary>
    public double SetpointMin { get; init; } = 19;

    public double SetpointMax { get; init; } = 23;

    /// <summary>Up and down delta of every thermostat's band.</summary>
    public double Band { get; init; } = 0.5;

    /// <summary>Rooms start this far (at most) from their setpoint.</summary>
    public double InitialSpread { get; init; } = 3;

    public string IdPrefix { get; init; } = "t-";

    public int Seed { get; init; } = 1;

    /// <summary>How often progress is reported.</summary>
    public TimeSpan ReportEvery { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The first failed check, or null when the options make sense.</summary>
    public string? Validate() =>
        Thermostats < 1 ? "--thermostats must be at least 1"
        : !(Rate > 0) || double.IsInfinity(Rate) ? "--rate must be a positive number of readings per second"
        : Duration is { } d && d <= TimeSpan.Zero ? "--duration must be positive"
        : !(TimeScale > 0) || double.IsInfinity(TimeScale) ? "--time-scale must be positive"
        : !(HeatMinutes > 0) || double.IsInfinity(HeatMinutes) ? "--heat-minutes must be positive"
        : !(CoolMinutes > 0) || double.IsInfinity(CoolMinutes) ? "--cool-minutes must be positive"
        : Warmup < TimeSpan.Zero ? "--warmup must not be negative"
        : !(SetpointMax >= SetpointMin) ? "--setpoint-max must not be below --setpoint-min"
        : !(Band >= 0) ? "--band must not be negative"
        : null;
}
