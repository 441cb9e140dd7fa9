using System.Diagnostics.Metrics;
using Hearth.Silo.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Hearth.Tests.Unit;

/// <summary>What <c>GET /metrics</c> shows for measurements with tags: one series per tag set, whatever order the tags come in.</summary>
public sealed class PrometheusMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    [Fact]
    public void EachTagSet_IsOneSeries_SortedByName_WhateverTheOrderTheTagsCameIn()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        using var prometheus = new PrometheusMetrics(meters);
        var counter = meters.Create("Hearth.Test").CreateCounter<long>("hearth.test.things");

        counter.Add(1, new("topic", "readings"), new("partition", 3));
        counter.Add(2, new("partition", 3), new("topic", "readings"));
        counter.Add(4, new("topic", "readings"), new("partition", 4));
        counter.Add(8, new KeyValuePair<string, object?>("kind.of", "a\"b"));
        counter.Add(16);

        var lines = prometheus.Scrape().Split('\n');
        Assert.Contains("hearth_test_things_total{partition=\"3\",topic=\"readings\"} 3", lines);
        Assert.Contains("hearth_test_things_total{partition=\"4\",topic=\"readings\"} 4", lines);
        Assert.Contains("hearth_test_things_total{kind_of=\"a\\\"b\"} 8", lines);
        Assert.Contains("hearth_test_things_total 16", lines);
    }

    [Fact]
    public void TagSetsBeyondWhatIsKept_AreStillCountedInTheirOwnSeries()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        using var prometheus = new PrometheusMetrics(meters);
        var counter = meters.Create("Hearth.Test").CreateCounter<long>("hearth.test.keys");
        var keys = LabelCache.Capacity + 10;

        for (var round = 0; round < 2; round++)
        {
            for (var key = 0; key < keys; key++)
            {
                counter.Add(1, new KeyValuePair<string, object?>("key", key));
            }
        }

        var series = prometheus.Scrape().Split('\n').Where(l => l.StartsWith("hearth_test_keys_total{", StringComparison.Ordinal)).ToList();
        Assert.Equal(keys, series.Count);
        Assert.All(series, s => Assert.EndsWith("} 2", s, StringComparison.Ordinal));
        Assert.Contains($"hearth_test_keys_total{{key=\"{keys - 1}\"}} 2", series);
    }
}
