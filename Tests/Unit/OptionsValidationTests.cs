using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Unit;

public sealed class OptionsValidationTests
{
    [Fact]
    public void Defaults_AreValid()
    {
        var settings = SiloSettings.Read(new ConfigurationBuilder().Build());

        Assert.Equal(StorageOptions.Sqlite, settings.Storage.Provider);
        Assert.Equal(OrleansOptions.DefaultSiloPort, settings.Orleans.SiloPort);
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { "Kafka:GroupId", " ", "Kafka:GroupId" },
        { "Kafka:BootstrapServers", "localhost", "Kafka:BootstrapServers" },
        { "Kafka:BootstrapServers", "a:9092,b:99999", "Kafka:BootstrapServers" },
        { "Kafka:QueuedMinMessages", "0", "Kafka:QueuedMinMessages" },
        { "Kafka:CommitIntervalMs", "1", "Kafka:CommitIntervalMs" },
        { "Kafka:CacheSize", "0", "Kafka:CacheSize" },
        { "Kafka:SiloCacheSize", "0", "Kafka:SiloCacheSize" },
        { "Topics:Readings", "", "Topics:Readings" },
        { "Topics:Settings", "bad topic", "Topics:Settings" },
        { "Topics:Commands", "thermostat-readings", "Topics:Commands" },
        { "Topics:DeadLetter", "thermostat-settings", "Topics:DeadLetter" },
        { "Topics:Partitions", "0", "Topics:Partitions" },
        { "Grains:IdleTimeout", "00:00:00.005", "Grains:IdleTimeout" },
        { "Grains:WriteBehindInterval", "00:00:00", "Grains:WriteBehindInterval" },
        { "Grains:MaxDeliveryTime", "00:00:00", "Grains:MaxDeliveryTime" },
        { "Grains:Placement", "random", "Grains:Placement" },
        { "Storage:Provider", "oracle", "Storage:Provider" },
        { "Storage:ConnectionString", "", "Storage:ConnectionString" },
        { "Orleans:SiloPort", "70000", "Orleans:SiloPort" },
        { "Orleans:GatewayPort", "11111", "Orleans:GatewayPort" },
        { "Orleans:ClusterId", "has spaces", "Orleans:ClusterId" },
        { "Orleans:AdvertisedAddress", "not-an-ip", "Orleans:AdvertisedAddress" },
        { "Silo:Name", "", "Silo:Name" },
        { "Silo:HttpAddress", "ftp://x", "Silo:HttpAddress" },
        { "Telemetry:OtlpProtocol", "carrier-pigeon", "Telemetry:OtlpProtocol" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_FailsNamingTheKey(string key, string value, string named)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();

        var error = Assert.Throws<OptionsValidationException>(() => SiloSettings.Read(configuration));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheGrainsSection_IsTheGrainsOwnOptions()
    {
        var settings = SiloSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Grains:WriteBehindInterval"] = "00:00:03",
            ["Grains:MaxDeliveryTime"] = "00:00:07",
            ["Grains:Placement"] = ThermostatGrainOptions.PreferLocalPlacement,
        }).Build());

        Assert.IsType<ThermostatGrainOptions>(settings.Grains);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Grains.WriteBehindInterval);
        Assert.Equal(TimeSpan.FromSeconds(7), settings.Grains.MaxDeliveryTime);
        Assert.Equal(ThermostatGrainOptions.PreferLocalPlacement, settings.Grains.Placement);
        Assert.Equal(ThermostatGrainOptions.DefaultIdleTimeout, settings.Grains.IdleTimeout);
    }

    [Fact]
    public void AValueThatIsNotOfItsType_FailsNamingTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Grains:IdleTimeout"] = "soon" }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => SiloSettings.Read(configuration));

        Assert.Contains("Grains:IdleTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheProvidersOwnOptions_AreCheckedNamingTheOption()
    {
        var failures = KafkaStreamOptionsValidator.Validate(new KafkaStreamOptions { Topics = ["in", "in"], DeadLetterTopic = "in", MaxBatchSize = 0 });

        Assert.Contains(failures, f => f.StartsWith("BootstrapServers", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("names a topic twice", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("DeadLetterTopic", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("MaxBatchSize", StringComparison.Ordinal));
        Assert.Empty(KafkaStreamOptionsValidator.Validate(new KafkaStreamOptions { BootstrapServers = "k:9092", Topics = ["in"], DeadLetterTopic = "dead" }));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("a:9092,b:99999")]
    [InlineData("a:9092,:9092")]
    public void TheProvidersBootstrapServers_MustBeHostPortPairs(string servers)
    {
        var failures = KafkaStreamOptionsValidator.Validate(new KafkaStreamOptions { BootstrapServers = servers, Topics = ["in"], DeadLetterTopic = "dead" });

        Assert.Contains(failures, f => f.StartsWith("BootstrapServers must be host:port", StringComparison.Ordinal));
    }

    [Fact]
    public void TheProvidersOptions_WithAKeyPrefix_NameTheConfigurationKeys()
    {
        var options = new KafkaStreamOptions { BootstrapServers = "k:9092", GroupId = "", Topics = ["in"], DeadLetterTopic = "dead", CommitIntervalMs = 1, MetadataTimeout = TimeSpan.Zero };

        var failures = KafkaStreamOptionsValidator.Validate(options, keyPrefix: "Kafka:");

        Assert.Equal(3, failures.Count);
        Assert.Contains("Kafka:GroupId is required.", failures);
        Assert.Contains(failures, f => f.StartsWith("Kafka:CommitIntervalMs must be between 10 and 3600000", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Kafka:MetadataTimeout must be positive", StringComparison.Ordinal));
    }

    [Fact]
    public void TheProvidersOptions_SetByTheHost_AreLeftToIt()
    {
        var options = new KafkaStreamOptions { BootstrapServers = "k:9092", Topics = [], DeadLetterTopic = "", NamespaceTopics = { ["n"] = "bad topic" } };

        var all = KafkaStreamOptionsValidator.Validate(options, keyPrefix: "Kafka:");
        var own = KafkaStreamOptionsValidator.Validate(options, keyPrefix: "Kafka:", setByHost: [nameof(options.Topics), nameof(options.DeadLetterTopic), nameof(options.NamespaceTopics)]);

        Assert.Equal(3, all.Count);
        Assert.Empty(own);
    }
}
