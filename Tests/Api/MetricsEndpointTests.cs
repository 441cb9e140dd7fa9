using System.Globalization;
using System.Text.RegularExpressions;
using Hearth.Grains.Interfaces;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Api;

[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed partial class MetricsEndpointTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Metrics_AreValidPrometheusText_AndCountWhatWasSent()
    {
        var topics = kafka.CreateTopics(partitions: 3);
        var ids = Enumerable.Range(0, 10).Select(i => $"m-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("metrics.db"), output);
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);
        var readings = Fleet.Swinging(ids, 21, swings: 3).ToList();
        fleet.PublishReadings(readings);
        for (var i = 0; i < 4; i++)
        {
            fleet.PublishRaw(topics.Readings, "m-0", "{\"measurement\":\"hot\"}"u8.ToArray());
        }

        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "readings");
        using var http = silo.Http();

        var response = await http.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var samples = Parse(text);
        var commands = fleet.Replay.Commands.Count;
        Assert.True(commands > 0);
        Assert.Equal(readings.Count, Value(samples, "hearth_thermostat_readings_total"));
        Assert.Equal(ids.Count, Value(samples, "hearth_thermostat_settings_total"));
        Assert.Equal(commands, Sum(samples, "hearth_thermostat_commands_total"));
        Assert.Equal(fleet.Replay.Commands.Count(c => c.Action == HeaterAction.On), Value(samples, "hearth_thermostat_commands_total", ("action", "on")));
        Assert.Equal(readings.Count + 4, Value(samples, "hearth_kafka_messages_received_total", ("topic", topics.Readings)));
        Assert.Equal(readings.Count, Value(samples, "hearth_kafka_messages_delivered_total", ("topic", topics.Readings)));
        Assert.Equal(ids.Count, Value(samples, "hearth_kafka_messages_delivered_total", ("topic", topics.Settings)));
        Assert.Equal(4, Value(samples, "hearth_kafka_messages_deadlettered_total", ("reason", "decode"), ("topic", topics.Readings)));
        Assert.Equal(commands, Value(samples, "hearth_kafka_messages_produced_total", ("topic", topics.Commands)));
        Assert.Equal(4, Value(samples, "hearth_kafka_messages_produced_total", ("topic", topics.DeadLetter)));
        Assert.Equal(commands, Value(samples, "hearth_thermostat_command_latency_milliseconds_count"));
        Assert.Equal(commands, Value(samples, "hearth_thermostat_command_latency_milliseconds_bucket", ("le", "+Inf")));
        Assert.Equal(ids.Count, Value(samples, "hearth_thermostat_activations"));
        // Per partition of both input topics, whose checkpoints are at their ends.
        Assert.Equal(6, samples.Count(s => s.Name == "hearth_kafka_consumer_lag"));
        Assert.Equal(readings.Count + 4, samples.Where(s => s.Name == "hearth_kafka_checkpoint_offset" && s.Labels["topic"] == topics.Readings).Sum(s => s.Value));
        // Orleans' own instruments are served too.
        Assert.Contains(samples, s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));
    }

    public void Dispose() => _directory.Dispose();

    private sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(?:[^"\\]|\\.)*)"(,|$)""")]
    private static partial Regex LabelPair();

    [GeneratedRegex("""^# (HELP|TYPE) (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<rest>.+)$""")]
    private static partial Regex CommentLine();

    /// <summary>Parses the exposition format strictly: every line must be a HELP, a TYPE or a sample of a declared family.</summary>
    private static List<Sample> Parse(string text)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                var comment = CommentLine().Match(line);
                Assert.True(comment.Success, $"bad comment line: {line}");
                if (line.StartsWith("# TYPE", StringComparison.Ordinal))
                {
                    Assert.Contains(comment.Groups["rest"].Value, new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                    types[comment.Groups["name"].Value] = comment.Groups["rest"].Value;
                }

                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"bad sample line: {line}");
            var name = match.Groups["name"].Value;
            var family = Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(types.ContainsKey(name) || types.GetValueOrDefault(family) == "histogram", $"sample of an undeclared family: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);
            var value = match.Groups["value"].Value;
            samples.Add(new Sample(name, labels, value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture)));
        }

        return samples;
    }

    private static double Value(List<Sample> samples, string name, params (string Key, string Value)[] labels)
    {
        var matching = samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        Assert.True(matching.Count == 1, $"{name}{{{string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}}}: {matching.Count} samples");
        return matching[0].Value;
    }

    private static double Sum(List<Sample> samples, string name) => samples.Where(s => s.Name == name).Sum(s => s.Value);
}
