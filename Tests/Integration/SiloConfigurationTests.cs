using Hearth.Silo.Hosting;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Integration;

[Collection(KafkaCollection.Name)]
public sealed class SiloConfigurationTests(EmbeddedKafkaFixture kafka) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Theory]
    [InlineData("Grains:CheckpointInterval", "00:00:00", "Grains:CheckpointInterval")]
    [InlineData("Grains:CheckpointInterval", "soon", "Grains:CheckpointInterval")]
    [InlineData("Storage:Provider", "oracle", "Storage:Provider")]
    [InlineData("Kafka:GroupId", "", "Kafka:GroupId")]
    [InlineData("Topics:Commands", "has spaces", "Topics:Commands")]
    [InlineData("Kafka:SessionTimeoutMs", "-1", "Kafka:SessionTimeoutMs")]
    public async Task InvalidConfiguration_FailsAtStart_NamingTheKey(string key, string value, string named)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(new() { [key] = value }));

        Assert.True(error is OptionsValidationException or InvalidOperationException, error.ToString());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownSettingsTopic_FailsAtStart_NamingTheKey()
    {
        var topics = kafka.CreateTopics(2);
        var unknown = "no-such-topic-" + Guid.NewGuid().ToString("N");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(new() { ["Topics:Settings"] = unknown, ["Topics:Readings"] = topics.Readings }));

        // A real cluster answers "does not exist" (the silo asks without auto-creation); the embedded broker
        // creates any topic it is asked about, with 4 partitions, which the silo then rejects as mismatched.
        Assert.Contains("Topics:Settings", error.Message, StringComparison.Ordinal);
        Assert.Contains(unknown, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InputTopicsWithDifferentPartitionCounts_FailAtStart()
    {
        var three = kafka.CreateTopics(3);
        var five = kafka.CreateTopics(5);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StartAsync(new() { ["Topics:Readings"] = three.Readings, ["Topics:Settings"] = five.Settings }));

        Assert.Contains("same partition count", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();

    private async Task StartAsync(Dictionary<string, string?> settings)
    {
        settings.TryAdd("Kafka:BootstrapServers", kafka.BootstrapServers);
        settings.TryAdd("Urls", "http://127.0.0.1:0");
        settings.TryAdd("Storage:ConnectionString", $"Data Source={_directory.File("config.db")}");
        await using var app = SiloApplication.Build([], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            b.Logging.ClearProviders();
        });
        await app.StartAsync();
        await app.StopAsync();
    }
}
