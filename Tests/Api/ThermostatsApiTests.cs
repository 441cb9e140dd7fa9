using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hearth.Grains.Interfaces;
using Hearth.Silo.Diagnostics;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Api;

[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class ThermostatsApiTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Get_ReturnsTheLiveState_404ForANeverSeenThermostat_400ForABadId()
    {
        var topics = kafka.CreateTopics(partitions: 4);
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("get.db"), output);
        await fleet.PublishSettingsAsync([new ThermostatSetting("a-1", 21, 0.5, 1)], silo, Timeout);
        fleet.PublishReadings([new ThermostatReading("a-1", 19.5, Fleet.Clock)]);
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "reading");
        using var http = silo.Http();

        var found = await http.GetAsync("/api/thermostats/a-1");
        var missing = await http.GetAsync("/api/thermostats/never-seen");
        var bad = await http.GetAsync($"/api/thermostats/{new string('x', 300)}");

        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        var state = await found.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(21, state.GetProperty("setpoint").GetDouble());
        Assert.Equal(1, state.GetProperty("downDelta").GetDouble());
        Assert.Equal(19.5, state.GetProperty("lastMeasurement").GetDouble());
        Assert.Equal(Fleet.Clock, state.GetProperty("lastReadingAt").GetDateTimeOffset());
        Assert.Equal("on", state.GetProperty("heater").GetString());
        Assert.Equal(1, state.GetProperty("lastCommandSeq").GetInt64());
        Assert.Equal("on", state.GetProperty("recentCommands")[0].GetProperty("action").GetString());
        Assert.Equal(silo.Name, state.GetProperty("owner").GetString());
        Assert.Equal(KafkaPartitioner.Partition("a-1"u8, 4), state.GetProperty("partition").GetInt32());
        Assert.Equal("live", state.GetProperty("source").GetString());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("never-seen", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"id\"", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.All(new[] { found, missing, bad }, r => Assert.Equal(silo.Name, Assert.Single(r.Headers.GetValues(ServedByHeader.Name))));
    }

    [Fact]
    public async Task Get_FromAnySiloOfACluster_IsAGrainCallToWhereverTheControllerLives()
    {
        var topics = kafka.CreateTopics(partitions: 4);
        var database = await PostgresServer.CreateDatabaseAsync();
        try
        {
            var settings = new Dictionary<string, string?>
            {
                ["Storage:Provider"] = "postgres",
                ["Storage:ConnectionString"] = database,
                ["Orleans:ClusterId"] = "api-" + topics.GroupId,
                ["Orleans:AdvertisedAddress"] = "127.0.0.1",
            };
            using var fleet = new Fleet(kafka, topics);
            await using var first = await TestSilo.StartAsync(kafka.BootstrapServers, topics, "", output, settings, "first");
            await using var second = await TestSilo.StartAsync(kafka.BootstrapServers, topics, "", output, settings, "second", waitForEveryPartition: false);
            var ids = Enumerable.Range(0, 40).Select(i => $"w-{i}").ToList();
            await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 22, 0.5, 0.5)), first, Timeout);

            using var viaFirst = first.Http();
            using var viaSecond = second.Http();
            var owners = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var a = await viaFirst.GetFromJsonAsync<JsonElement>($"/api/thermostats/{id}");
                var b = await viaSecond.GetFromJsonAsync<JsonElement>($"/api/thermostats/{id}");
                Assert.Equal((22.0, "live"), (a.GetProperty("setpoint").GetDouble(), a.GetProperty("source").GetString()));
                // One activation, whoever asks.
                Assert.Equal(a.GetProperty("owner").GetString(), b.GetProperty("owner").GetString());
                owners.Add(a.GetProperty("owner").GetString()!);
            }

            Assert.Subset(new HashSet<string>(["first", "second"], StringComparer.Ordinal), owners);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task Get_ForANeverSeenThermostat_LeavesNoActivationAndNoRecordBehind()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var database = _directory.File("never.db");
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, database, output);
        using var http = silo.Http();

        foreach (var i in Enumerable.Range(0, 10))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/thermostats/ghost-{i}")).StatusCode);
        }

        await Poll.UntilAsync(() => Task.FromResult(silo.Metrics.Activations == 0), Timeout, "the activations the lookups made are gone",
            () => Task.FromResult($"{silo.Metrics.Activations} active"));
        foreach (var i in Enumerable.Range(0, 10))
        {
            Assert.Null(await StoredStates.ThermostatInSqliteAsync(database, $"ghost-{i}"));
        }
    }

    [Fact]
    public async Task Put_Accepts202WithPartitionAndOffset_AndTheSettingIsVisibleOnceProcessed()
    {
        var topics = kafka.CreateTopics(partitions: 3);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("put.db"), output);
        using var http = silo.Http();

        var response = await http.PutAsJsonAsync("/api/thermostats/p-9/setting", new { temperature = 22.5, upDelta = 0.25, downDelta = 0.75 });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("/api/thermostats/p-9", response.Headers.Location?.OriginalString);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(topics.Settings, accepted.GetProperty("topic").GetString());
        Assert.Equal(KafkaPartitioner.Partition("p-9"u8, 3), accepted.GetProperty("partition").GetInt32());
        var offset = accepted.GetProperty("offset").GetInt64();
        var published = TopicReader.ReadAll(kafka.BootstrapServers, topics.Settings, Timeout).Single();
        Assert.Equal(offset, published.Offset.Value);

        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Settings), Timeout, "the setting");
        var state = await http.GetFromJsonAsync<JsonElement>("/api/thermostats/p-9");
        Assert.Equal((22.5, 0.25, 0.75), (state.GetProperty("setpoint").GetDouble(), state.GetProperty("upDelta").GetDouble(), state.GetProperty("downDelta").GetDouble()));
    }

    [Theory]
    [InlineData("""{"upDelta":0.5,"downDelta":0.5}""", "temperature", "is required")]
    [InlineData("""{"temperature":"warm","upDelta":0.5,"downDelta":0.5}""", "temperature", "must be a number")]
    [InlineData("""{"temperature":1e999,"upDelta":0.5,"downDelta":0.5}""", "temperature", "finite")]
    [InlineData("""{"temperature":500,"upDelta":0.5,"downDelta":0.5}""", "temperature", "between -50 and 100")]
    [InlineData("""{"temperature":21,"upDelta":-0.5,"downDelta":0.5}""", "upDelta", "between 0 and 50")]
    [InlineData("""{"temperature":21,"upDelta":0.5,"downDelta":null}""", "downDelta", "must be a number")]
    [InlineData("""{"temperature":21,"upDelta":0.5""", "body", "JSON object")]
    [InlineData("""[21, 0.5, 0.5]""", "body", "JSON object")]
    public async Task Put_InvalidSetting_Is400NamingTheField_AndPublishesNothing(string body, string field, string reason)
    {
        var topics = kafka.CreateTopics(partitions: 2);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("bad.db"), output);
        using var http = silo.Http();

        var response = await http.PutAsync("/api/thermostats/x-1/setting", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var messages = problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Contains(messages, m => m!.Contains(reason, StringComparison.Ordinal));
        Assert.Equal(0, kafka.EndOffsets(topics.Settings).Values.Sum());
    }

    [Fact]
    public async Task Cluster_ListsTheSilosPartitionsEventsAndBroker_AndHealthEndpointsAnswer()
    {
        var topics = kafka.CreateTopics(partitions: 3);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, _directory.File("cluster.db"), output);
        using var http = silo.Http();

        JsonElement cluster = default;
        await Poll.UntilAsync(async () =>
        {
            cluster = await http.GetFromJsonAsync<JsonElement>("/api/cluster");
            return cluster.GetProperty("silos").EnumerateArray().Any(s => s.GetProperty("status").GetString() == "active"
                && s.GetProperty("queues").GetArrayLength() == 6)
                && cluster.GetProperty("events").EnumerateArray().Any(e => e.GetProperty("kind").GetString() == "queues");
        }, Timeout, "the silo shows active and pulling in /api/cluster");

        Assert.Equal(kafka.BootstrapServers, cluster.GetProperty("bootstrapServers").GetString());
        Assert.Equal(6, cluster.GetProperty("partitions").GetInt32());
        var me = cluster.GetProperty("silos").EnumerateArray().Single();
        Assert.Equal(silo.Name, me.GetProperty("name").GetString());
        Assert.Equal(silo.HttpAddress.GetLeftPart(UriPartial.Authority), me.GetProperty("httpAddress").GetString());
        Assert.Equal(
            new[] { topics.Readings, topics.Settings }.SelectMany(t => Enumerable.Range(0, 3).Select(p => $"{t}/{p}")).Order(),
            me.GetProperty("queues").EnumerateArray().Select(q => q.GetString()).Order());
        Assert.All(new[] { "activations", "messagesPerSecond", "lag", "cpuPercent", "memoryMb" }, f => Assert.True(me.TryGetProperty(f, out _), f));
        Assert.All(cluster.GetProperty("queues").EnumerateArray(), q => Assert.Equal(silo.Name, q.GetProperty("owner").GetString()));
        Assert.Contains(cluster.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "active");
        Assert.Contains(cluster.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "queues");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/cluster/history")).StatusCode);
    }

    public void Dispose() => _directory.Dispose();
}
