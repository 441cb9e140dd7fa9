namespace Hearth.Grains;

/// <summary>A bounded uniform sample of recent latencies (reservoir sampling), drained on each read.</summary>
public sealed class LatencyWindow
{
    private const int Capacity = 20_000;
    private readonly Lock _lock = new();
    private readonly double[] _samples = new double[Capacity];
    private int _count;
    private long _seen;

    public void Add(double value)
    {
        lock (_lock)
        {
            _seen++;
            if (_count < Capacity)
            {
                _samples[_count++] = value;
            }
            else if (Random.Shared.NextInt64(_seen) < Capacity)
            {
                _samples[Random.Shared.Next(Capacity)] = value;
            }
        }
    }

    /// <summary>The median and 99th percentile of what was added since the last call, and how many samples they rest on.</summary>
    public (double P50, double P99, int Count) TakePercentiles()
    {
        double[] sorted;
        lock (_lock)
        {
            sorted = _samples.AsSpan(0, _count).ToArray();
            _count = 0;
            _seen = 0;
        }

        if (sorted.Length == 0)
        {
            return (double.NaN, double.NaN, 0);
        }

        Array.Sort(sorted);
        return (At(sorted, 0.50), At(sorted, 0.99), sorted.Length);

        static double At(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }
}
