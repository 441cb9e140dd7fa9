using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hearth.Grains.Interfaces;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Api;

/// <summary>The Orleans Dashboard under <c>/orleans</c> (with <c>Orleans:Dashboard</c>): served by every silo, its counters filled by Orleans' own meters.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class OrleansDashboardTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task TheOrleansDashboard_ShowsTheControllersAndTheSilosCounters()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 25).Select(i => $"o-{i}").ToList();
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("orleans.db"), output,
            new Dictionary<string, string?> { ["Orleans:Dashboard"] = "true" });
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);
        using var http = silo.Http();

        var page = await http.GetAsync("/orleans");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        JsonElement counters = default;
        await Poll.UntilAsync(async () =>
        {
            counters = await http.GetFromJsonAsync<JsonElement>("/orleans/DashboardCounters");
            return counters.GetProperty("simpleGrainStats").EnumerateArray().Any(g =>
                g.GetProperty("grainType").GetString()!.EndsWith("ThermostatControllerGrain", StringComparison.Ordinal) &&
                g.GetProperty("activationCount").GetInt32() == ids.Count);
        }, Timeout, $"the dashboard counts {ids.Count} controller activations", () => Task.FromResult(counters.ToString()));

        var host = counters.GetProperty("hosts").EnumerateArray().Single();
        Assert.Equal("Active", host.GetProperty("status").GetString());
        // Silo counters come from Orleans' meters, collected every second.
        var created = 0.0;
        await Poll.UntilAsync(async () =>
        {
            var siloCounters = await http.GetFromJsonAsync<JsonElement>($"/orleans/SiloCounters/{host.GetProperty("siloAddress").GetString()}");
            created = siloCounters.EnumerateArray()
                .Where(c => c.GetProperty("name").GetString() == "orleans-catalog-activation-created")
                .Select(c => double.Parse(c.GetProperty("value").GetString()!, CultureInfo.InvariantCulture))
                .SingleOrDefault();
            return created >= ids.Count;
        }, Timeout, "the silo's activation counter counts the controllers", () => Task.FromResult($"{created} activations created"));
    }

    [Fact]
    public async Task ByDefault_TheOrleansDashboardIsNotServed_AndTheFleetDashboardDoesNotLinkIt()
    {
        var topics = kafka.CreateTopics(partitions: 1);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("off.db"), output);
        using var http = silo.Http();

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/orleans/DashboardCounters")).StatusCode);
        var cluster = await http.GetFromJsonAsync<JsonElement>("/api/cluster");
        Assert.False(cluster.GetProperty("orleansDashboard").GetBoolean());
    }

    public void Dispose() => _directory.Dispose();
}
