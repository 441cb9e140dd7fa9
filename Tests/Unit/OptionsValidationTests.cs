using Hearth.Runtime.Configuration;

namespace Hearth.Tests.Unit;

public sealed class OptionsValidationTests
{
    [Fact]
    public void Defaults_AreValid()
    {
        Assert.True(new KafkaOptionsValidator().Validate(null, new KafkaOptions()).Succeeded);
        Assert.True(new TopicsOptionsValidator().Validate(null, new TopicsOptions()).Succeeded);
        Assert.True(new GrainsOptionsValidator().Validate(null, new GrainsOptions()).Succeeded);
        Assert.True(new StorageOptionsValidator().Validate(null, new StorageOptions()).Succeeded);
        Assert.True(new SiloOptionsValidator().Validate(null, new SiloOptions()).Succeeded);
    }

    public static TheoryData<object, string> Invalid => new()
    {
        { new KafkaOptions { GroupId = " " }, "Kafka:GroupId" },
        { new KafkaOptions { BootstrapServers = "localhost" }, "Kafka:BootstrapServers" },
        { new KafkaOptions { BootstrapServers = "a:9092,b:99999" }, "Kafka:BootstrapServers" },
        { new KafkaOptions { QueuedMinMessages = 0 }, "Kafka:QueuedMinMessages" },
        { new KafkaOptions { SessionTimeoutMs = 10 }, "Kafka:SessionTimeoutMs" },
        { new TopicsOptions { Readings = "" }, "Topics:Readings" },
        { new TopicsOptions { Settings = "bad topic" }, "Topics:Settings" },
        { new TopicsOptions { Commands = "thermostat-readings" }, "Topics:Commands" },
        { new TopicsOptions { DeadLetter = "thermostat-settings" }, "Topics:DeadLetter" },
        { new TopicsOptions { Partitions = 0 }, "Topics:Partitions" },
        { new GrainsOptions { CheckpointInterval = TimeSpan.Zero }, "Grains:CheckpointInterval" },
        { new GrainsOptions { IdleTimeout = TimeSpan.FromMilliseconds(5) }, "Grains:IdleTimeout" },
        { new GrainsOptions { MaxQueuedMessagesPerPartition = 1 }, "Grains:MaxQueuedMessagesPerPartition" },
        { new StorageOptions { Provider = "oracle" }, "Storage:Provider" },
        { new StorageOptions { ConnectionString = "" }, "Storage:ConnectionString" },
        { new SiloOptions { Name = "" }, "Silo:Name" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_FailsNamingTheKey(object options, string key)
    {
        var result = options switch
        {
            KafkaOptions o => new KafkaOptionsValidator().Validate(null, o),
            TopicsOptions o => new TopicsOptionsValidator().Validate(null, o),
            GrainsOptions o => new GrainsOptionsValidator().Validate(null, o),
            StorageOptions o => new StorageOptionsValidator().Validate(null, o),
            SiloOptions o => new SiloOptionsValidator().Validate(null, o),
            _ => throw new ArgumentException("unknown options", nameof(options)),
        };

        Assert.True(result.Failed);
        Assert.Contains(key, result.FailureMessage, StringComparison.Ordinal);
    }
}
