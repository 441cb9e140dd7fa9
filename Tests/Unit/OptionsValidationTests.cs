using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hearth.Tests.Unit;

public sealed class OptionsValidationTests
{
    /// <summary>Where the silo finds Kafka: without it, it hosts the embedded broker and puts its address there.</summary>
    private const string Kafka = "kafka-0:9092,kafka-1:9092";

    [Fact]
    public void Defaults_AreValid()
    {
        var settings = Read(new());

        Assert.Equal(StorageOptions.Sqlite, settings.Storage.Provider);
        Assert.Equal(OrleansOptions.DefaultSiloPort, settings.Orleans.SiloPort);
        Assert.Equal(KafkaStreamOptions.DefaultCommitIntervalMs, settings.Kafka.CommitIntervalMs);
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { "Kafka:BootstrapServers", "", "Kafka:BootstrapServers is required" },
        { "Kafka:BootstrapServers", "localhost", "Kafka:BootstrapServers" },
        { "Kafka:BootstrapServers", "a:9092,b:99999", "Kafka:BootstrapServers" },
        { "Kafka:GroupId", " ", "Kafka:GroupId" },
        { "Kafka:CommitIntervalMs", "1", "Kafka:CommitIntervalMs" },
        { "Kafka:MaxBatchSize", "0", "Kafka:MaxBatchSize" },
        { "Kafka:CacheSize", "0", "Kafka:CacheSize" },
        { "Kafka:SiloCacheSize", "0", "Kafka:SiloCacheSize" },
        { "Kafka:QueuedMinMessages", "0", "Kafka:QueuedMinMessages" },
        { "Kafka:QueuedMaxMessagesKbytes", "2097152", "Kafka:QueuedMaxMessagesKbytes" },
        { "Kafka:LingerMs", "-1", "Kafka:LingerMs" },
        { "Kafka:MetadataTimeout", "00:00:00", "Kafka:MetadataTimeout" },
        { "Kafka:TopicRefreshInterval", "00:00:00.500", "Kafka:TopicRefreshInterval" },
        { "Kafka:TopicRefreshInterval", "02:00:00", "Kafka:TopicRefreshInterval" },
        // What the silo sets itself from other sections cannot be set under Kafka: (the key the operator wrote is named).
        { "Kafka:Topics:0", "elsewhere", "Kafka:Topics" },
        { "Kafka:DeadLetterTopic", "elsewhere", "Kafka:DeadLetterTopic" },
        { "Kafka:NamespaceTopics:readings", "elsewhere", "Kafka:NamespaceTopics" },
        { "Kafka:ClientId", "me", "Kafka:ClientId" },
        { "Kafka:LogIncarnation", "mine", "Kafka:LogIncarnation" },
        { "Kafka:EmbeddedBootstrapFile", "kafka-bootstrap", "EmbeddedKafka:BootstrapFile" },
        { "Topics:Readings", "", "Topics:Readings" },
        { "Topics:Settings", "bad topic", "Topics:Settings" },
        { "Topics:Commands", "thermostat-readings", "Topics:Commands" },
        { "Topics:DeadLetter", "thermostat-settings", "Topics:DeadLetter" },
        { "Topics:Partitions", "0", "Topics:Partitions" },
        { "Grains:IdleTimeout", "00:00:00.005", "Grains:IdleTimeout" },
        { "Grains:WriteBehindInterval", "00:00:00", "Grains:WriteBehindInterval" },
        { "Grains:MaxAttempts", "0", "Grains:MaxAttempts" },
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

    /// <summary>
    /// Every failure names the key, and only its key: a bad topic is reported as the <c>Topics:</c> key it was given,
    /// not again as the Kafka stream provider's options the silo sets from it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_FailsNamingTheKey(string key, string value, string named)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Read(new() { [key] = value }));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.All(error.Failures, f => Assert.Contains(named, f, StringComparison.Ordinal));
    }

    [Fact]
    public void EveryInvalidKey_IsNamedAtOnce()
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            Read(new() { ["Kafka:MaxBatchSize"] = "0", ["Kafka:Topics:0"] = "elsewhere", ["Topics:Settings"] = "bad topic", ["Grains:Placement"] = "random" }));

        Assert.Equal(4, error.Failures.Count());
    }

    [Fact]
    public void TheKafkaSection_IsTheProvidersOwnOptions_WithWhatTheSiloSetsFromOtherSections()
    {
        var settings = Read(new()
        {
            ["Kafka:GroupId"] = "g",
            ["Kafka:CommitIntervalMs"] = "250",
            ["Kafka:MetadataTimeout"] = "00:00:05",
            ["Kafka:Properties:client.rack"] = "rack-1",
            ["Kafka:ConsumerProperties:fetch.wait.max.ms"] = "10",
            ["Kafka:ProducerProperties:acks"] = "all",
            ["Topics:Readings"] = "r",
            ["Topics:Settings"] = "s",
            ["Topics:Commands"] = "c",
            ["Topics:DeadLetter"] = "d",
            ["Silo:Name"] = "silo-9",
        }, kafkaLogIncarnation: "embedded-1");

        var kafka = settings.Kafka;
        Assert.Equal((Kafka, "g", 250, TimeSpan.FromSeconds(5)), (kafka.BootstrapServers, kafka.GroupId, kafka.CommitIntervalMs, kafka.MetadataTimeout));
        Assert.Equal("rack-1", kafka.Properties["client.rack"]);
        Assert.Equal("10", kafka.ConsumerProperties["fetch.wait.max.ms"]);
        Assert.Equal("all", kafka.ProducerProperties["acks"]);
        Assert.Equal(["r", "s"], kafka.Topics);
        Assert.Equal("d", kafka.DeadLetterTopic);
        Assert.Equal("c", kafka.TopicOf(ThermostatStreams.Commands));
        Assert.Equal(ThermostatStreams.Settings, kafka.NamespaceOf("s"));
        Assert.Equal(("silo-9", "embedded-1"), (kafka.ClientId, kafka.LogIncarnation));
    }

    [Fact]
    public void TheGrainsSection_IsTheGrainsOwnOptions()
    {
        var settings = Read(new()
        {
            ["Grains:WriteBehindInterval"] = "00:00:03",
            ["Grains:MaxAttempts"] = "7",
            ["Grains:Placement"] = ThermostatGrainOptions.PreferLocalPlacement,
        });

        Assert.IsType<ThermostatGrainOptions>(settings.Grains);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Grains.WriteBehindInterval);
        Assert.Equal(7, settings.Grains.MaxAttempts);
        Assert.Equal(ThermostatGrainOptions.PreferLocalPlacement, settings.Grains.Placement);
        Assert.Equal(ThermostatGrainOptions.DefaultIdleTimeout, settings.Grains.IdleTimeout);
    }

    [Fact]
    public void AValueThatIsNotOfItsType_FailsNamingTheKey()
    {
        var grains = Assert.Throws<InvalidOperationException>(() => Read(new() { ["Grains:IdleTimeout"] = "soon" }));
        var kafka = Assert.Throws<InvalidOperationException>(() => Read(new() { ["Kafka:MaxBatchSize"] = "many" }));

        Assert.Contains("Grains:IdleTimeout", grains.Message, StringComparison.Ordinal);
        Assert.Contains("Kafka:MaxBatchSize", kafka.Message, StringComparison.Ordinal);
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

    /// <summary><paramref name="values"/>, with Kafka at <see cref="Kafka"/> unless they say otherwise.</summary>
    private static SiloSettings Read(Dictionary<string, string?> values, string kafkaLogIncarnation = "") =>
        TestSettings.Read(values, Kafka, kafkaLogIncarnation);
}
