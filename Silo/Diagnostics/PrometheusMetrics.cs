using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Hearth.Silo.Diagnostics;

/// <summary>
/// This silo's System.Diagnostics.Metrics instruments (ours, meters named <c>Hearth.*</c>, and Orleans' own,
/// meter <c>Microsoft.Orleans</c>, all created by the host's meter factory) in the Prometheus text exposition
/// format, for <c>GET /metrics</c>.
/// </summary>
/// <remarks>
/// Counters become <c>_total</c> counters; up-down counters and gauges become gauges (observable ones are
/// read at each scrape); histograms become cumulative <c>_bucket</c>/<c>_sum</c>/<c>_count</c> series. A
/// unit of <c>ms</c> adds <c>_milliseconds</c> to the name.
/// </remarks>
public sealed class PrometheusMetrics : IDisposable
{
    /// <summary>Histogram bucket bounds, in the instrument's unit (milliseconds for every histogram here).</summary>
    public static readonly double[] Buckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

    /// <summary>The meter of Orleans' own instruments (activations, messaging, streams...).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly Lock _scrapeLock = new();

    public PrometheusMetrics(IMeterFactory meters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this host's meters: a process hosting several silos (tests) keeps them apart.
            if (ReferenceEquals(instrument.Meter.Scope, meters) &&
                (instrument.Meter.Name.StartsWith("Hearth.", StringComparison.Ordinal) || instrument.Meter.Name == OrleansMeter))
            {
                _series[instrument] = new Series(instrument);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.MeasurementsCompleted = (instrument, state) => _series.TryRemove(instrument, out var removed);
        _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        _listener.Start();
    }

    /// <summary>Every series as Prometheus text.</summary>
    public string Scrape()
    {
        lock (_scrapeLock)
        {
            foreach (var series in _series.Values.Where(s => s.IsObservable))
            {
                series.Clear();
            }

            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            foreach (var series in _series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                series.WriteTo(text);
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (_series.TryGetValue(instrument, out var series))
        {
            series.Record(value, tags);
        }
    }

    /// <summary>The Prometheus label text of <paramref name="tags"/>: sorted by name, names sanitized, values escaped.</summary>
    internal static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }

        var pairs = tags.ToArray();
        Array.Sort(pairs, (a, b) => StringComparer.Ordinal.Compare(a.Key, b.Key));
        return string.Join(",", pairs.Select(p => $"{Sanitize(p.Key)}=\"{Escape(Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "")}\""));
    }

    private static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray();
        return new string(chars);
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>One instrument's values per label set.</summary>
    private sealed class Series
    {
        private readonly Lock _lock = new();
        private readonly LabelCache _labels = new();
        private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long[] Counts, double Sum, long Count)> _histograms = new(StringComparer.Ordinal);
        private readonly string _kind;
        private readonly string _help;

        public Series(Instrument instrument)
        {
            var type = instrument.GetType().GetGenericTypeDefinition();
            IsObservable = instrument.IsObservable;
            _kind = type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? "counter"
                : type == typeof(Histogram<>) ? "histogram"
                : "gauge";
            var name = Sanitize(instrument.Name) + (instrument.Unit == "ms" ? "_milliseconds" : "");
            Name = _kind == "counter" ? name + "_total" : name;
            _help = instrument.Description ?? instrument.Name;
        }

        public string Name { get; }

        public bool IsObservable { get; }

        public void Clear()
        {
            lock (_lock)
            {
                _values.Clear();
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_lock)
            {
                var labels = _labels.Get(tags);
                if (_kind == "histogram")
                {
                    var (counts, sum, count) = _histograms.TryGetValue(labels, out var h) ? h : (new long[Buckets.Length], 0d, 0L);
                    for (var i = 0; i < Buckets.Length; i++)
                    {
                        if (value <= Buckets[i])
                        {
                            counts[i]++;
                        }
                    }

                    _histograms[labels] = (counts, sum + value, count + 1);
                }
                else if (IsObservable)
                {
                    // Observable instruments report their current total or level at each scrape.
                    _values[labels] = value;
                }
                else
                {
                    _values[labels] = _values.GetValueOrDefault(labels) + value;
                }
            }
        }

        public void WriteTo(StringBuilder text)
        {
            lock (_lock)
            {
                if (_values.Count == 0 && _histograms.Count == 0)
                {
                    return;
                }

                text.Append("# HELP ").Append(Name).Append(' ').Append(_help.Replace("\n", " ", StringComparison.Ordinal)).Append('\n');
                text.Append("# TYPE ").Append(Name).Append(' ').Append(_kind).Append('\n');
                foreach (var (labels, value) in _values.OrderBy(v => v.Key, StringComparer.Ordinal))
                {
                    text.Append(Name).Append(labels.Length == 0 ? "" : "{" + labels + "}").Append(' ').Append(Number(value)).Append('\n');
                }

                foreach (var (labels, (counts, sum, count)) in _histograms.OrderBy(v => v.Key, StringComparer.Ordinal))
                {
                    var prefix = labels.Length == 0 ? "" : labels + ",";
                    for (var i = 0; i < Buckets.Length; i++)
                    {
                        text.Append(Name).Append("_bucket{").Append(prefix).Append("le=\"").Append(Number(Buckets[i])).Append("\"} ")
                            .Append(counts[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }

                    text.Append(Name).Append("_bucket{").Append(prefix).Append("le=\"+Inf\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    text.Append(Name).Append("_sum").Append(labels.Length == 0 ? "" : "{" + labels + "}").Append(' ').Append(Number(sum)).Append('\n');
                    text.Append(Name).Append("_count").Append(labels.Length == 0 ? "" : "{" + labels + "}").Append(' ')
                        .Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }
    }
}
