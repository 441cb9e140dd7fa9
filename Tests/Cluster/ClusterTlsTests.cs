using System.Net.Http.Json;
using System.Text.Json;
using Hearth.Grains.Interfaces;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Cluster;

/// <summary>
/// Silo processes with Orleans:Tls on one PostgreSQL membership table: the cluster's certificates make a cluster; a
/// certificate from another CA (the same CA name, another key) is refused by every member, so its silo cannot join.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class ClusterTlsTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task TwoSilosWithTheClustersCertificates_FormACluster_AThirdWithAnotherCasCertificate_CannotJoin()
    {
        using var certificates = new TestCertificates();
        var topics = kafka.CreateTopics(2);
        await using var cluster = await TestCluster.CreateAsync(kafka, topics, output);
        var a = await cluster.StartSiloAsync("silo-a", certificates.Settings(certificates.Silo("silo-a")));
        var b = await cluster.StartSiloAsync("silo-b", certificates.Settings(certificates.Silo("silo-b")));

        // Both members are active, as each of them sees the cluster.
        foreach (var silo in new[] { a, b })
        {
            await WaitForStatusesAsync(silo, s => s.GetValueOrDefault("silo-a") == "active" && s.GetValueOrDefault("silo-b") == "active", $"silo-a and silo-b active, seen from {silo.Name}");
        }

        // A thermostat lives on one of them and is served by both: one of the two answers crosses between the silos.
        using var fleet = new Fleet(kafka, topics);
        await fleet.PublishSettingsAsync([new ThermostatSetting("tls-1", 21, 0.5, 0.5)], cluster, Timeout);
        var owners = new List<string?>();
        foreach (var silo in new[] { a, b })
        {
            using var http = TestApiKeys.Client(new Uri(silo.HttpAddress!), timeout: TimeSpan.FromSeconds(30));
            var state = await http.GetFromJsonAsync<JsonElement>(ApiProbe.Thermostat("tls-1"));
            Assert.Equal(21, state.GetProperty("setpoint").GetDouble());
            owners.Add(state.GetProperty("owner").GetString());
        }

        Assert.Single(owners.Distinct());
        Assert.Contains(owners[0], new[] { "silo-a", "silo-b" });

        // A third silo knows the database and trusts the cluster CA (as well as its own), but its certificate comes from
        // another CA of the same name. Each member refuses its connections, so it cannot answer their probes: they
        // declare it dead and it stops, or, failing that, it gives up joining once Orleans' join attempt time (shortened
        // here) has passed.
        var rogue = cluster.LaunchSilo("silo-rogue", certificates.RogueSettings(certificates.Rogue("silo-rogue")).With(new Dictionary<string, string?>
        {
            ["Orleans:Membership:MaxJoinAttemptTime"] = "00:00:15",
        }));
        foreach (var silo in new[] { a, b })
        {
            await silo.WaitForLineAsync(l => l.Contains("Refused a silo connection", StringComparison.Ordinal) && l.Contains("CN=silo-rogue", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "silo-rogue refused");
        }

        await rogue.WaitForExitAsync(Timeout);
        Assert.NotEqual(0, rogue.ExitCode);
        var reason = await rogue.WaitForLineAsync(
            l => l.Contains("I have been told I am dead", StringComparison.Ordinal) || l.Contains("Silo could not join the cluster", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5), "why it stopped");
        output.WriteLine($"silo-rogue exited with {rogue.ExitCode}: {reason}");
        // It never became active; and it had accepted the members' certificates: the members alone kept it out.
        Assert.DoesNotContain(rogue.Lines, l => l.Contains("Silo silo-rogue is active", StringComparison.Ordinal));
        Assert.DoesNotContain(rogue.Lines, l => l.Contains("Refused a silo connection", StringComparison.Ordinal));
        foreach (var silo in new[] { a, b })
        {
            var statuses = await StatusesAsync(silo);
            Assert.Equal(("active", "active"), (statuses["silo-a"], statuses["silo-b"]));
            Assert.NotEqual("active", statuses.GetValueOrDefault("silo-rogue"));
        }
    }

    private static async Task<Dictionary<string, string?>> StatusesAsync(SiloProcess silo)
    {
        using var http = TestApiKeys.Client(new Uri(silo.HttpAddress!), timeout: TimeSpan.FromSeconds(10));
        var view = await http.GetFromJsonAsync<JsonElement>("/api/cluster");
        return view.GetProperty("silos").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("status").GetString());
    }

    private static async Task WaitForStatusesAsync(SiloProcess silo, Func<Dictionary<string, string?>, bool> condition, string what)
    {
        Dictionary<string, string?> statuses = [];
        await Poll.UntilAsync(async () => condition(statuses = await StatusesAsync(silo)), Timeout, what,
            () => Task.FromResult(string.Join(", ", statuses.Select(s => $"{s.Key} {s.Value}"))));
    }
}
