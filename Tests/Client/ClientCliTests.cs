using Hearth.Client;
using Hearth.Grains.Interfaces;
using Hearth.Grains.Interfaces.Codecs;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;

namespace Hearth.Tests.Client;

[Collection(KafkaCollection.Name)]
public sealed class ClientCliTests(EmbeddedKafkaFixture kafka)
{
    [Theory]
    [InlineData("set")]
    [InlineData("set t-1 --temperature 21 --up-delta 0.5")]
    [InlineData("set t-1 --temperature warm --up-delta 0.5 --down-delta 0.5")]
    [InlineData("set t-1 --temperature 21 --up-delta -0.5 --down-delta 0.5 --bootstrap 127.0.0.1:1")]
    [InlineData("set t-1 --temperature NaN --up-delta 0.5 --down-delta 0.5 --bootstrap 127.0.0.1:1")]
    [InlineData("simulate --thermostats 0 --bootstrap 127.0.0.1:1")]
    [InlineData("simulate --rate -5 --bootstrap 127.0.0.1:1")]
    [InlineData("frobnicate")]
    [InlineData("set t-1 --temperature 21 --up-delta 0.5 --down-delta 0.5 --bootstrap 127.0.0.1:1 --kafka-property nonsense")]
    public async Task BadArguments_ExitWith2AndOneLineReason(string arguments)
    {
        var (code, _, error) = await RunAsync(arguments.Split(' '));

        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoBootstrap_ExitWith2NamingBothWays()
    {
        var saved = Environment.GetEnvironmentVariable("Kafka__BootstrapServers");
        Environment.SetEnvironmentVariable("Kafka__BootstrapServers", null);
        try
        {
            var (code, _, error) = await RunAsync(["set", "t-1", "--temperature", "21", "--up-delta", "1", "--down-delta", "1"]);

            Assert.Equal(2, code);
            Assert.Contains("--bootstrap", error, StringComparison.Ordinal);
            Assert.Contains("Kafka__BootstrapServers", error, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("Kafka__BootstrapServers", saved);
        }
    }

    [Fact]
    public async Task Set_PublishesTheSettingKeyedByThermostat()
    {
        var topics = kafka.CreateTopics(partitions: 3);

        var (code, output, error) = await RunAsync(
            ["set", "t-42", "--temperature", "21.5", "--up-delta", "0.5", "--down-delta", "1", "--bootstrap", kafka.BootstrapServers, "--settings-topic", topics.Settings]);

        Assert.True(code == 0, error);
        Assert.Contains("published setting of t-42", output, StringComparison.Ordinal);
        var message = Assert.Single(TopicReader.ReadAll(kafka.BootstrapServers, topics.Settings, TimeSpan.FromSeconds(30)));
        Assert.Equal("t-42", message.Message.Key);
        var decoded = ThermostatJson.DecodeInput("t-42"u8, message.Message.Value, DateTimeOffset.UnixEpoch);
        Assert.Equal(new ThermostatSetting("t-42", 21.5, 0.5, 1), decoded.Value);
    }

    [Fact]
    public async Task SetThroughTheApi_ThenStatus_ShowsTheNewSetpoint_RejectionsExitWith2_AndRefusedCredentials77()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        using var directory = new TempDirectory();
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, directory.File("client.db"), null);
        var api = silo.HttpAddress.ToString();

        var (setCode, setOutput, setError) = await RunAsync(["set", "c-5", "--temperature", "19.5", "--up-delta", "1", "--down-delta", "0.5", "--api", api, "--api-key", TestApiKeys.Control]);
        var (badCode, _, badError) = await RunAsync(["set", "c-5", "--temperature", "500", "--up-delta", "1", "--down-delta", "0.5", "--api", api, "--api-key", TestApiKeys.Control]);
        await silo.WaitForStoredAsync(TopicReader.EndOffsets(kafka.BootstrapServers, topics.Settings, TimeSpan.FromSeconds(30)), TimeSpan.FromSeconds(60), "setting");
        var (statusCode, statusOutput, statusError) = await RunAsync(["status", "c-5", "--api", api, "--api-key", TestApiKeys.Control]);
        var (missingCode, _, missingError) = await RunAsync(["status", "never-seen", "--api", api, "--api-key", TestApiKeys.Control]);
        var (anonymousCode, _, anonymousError) = await RunAsync(["status", "c-5", "--api", api]);
        var (readOnlyCode, _, readOnlyError) = await RunAsync(["set", "c-5", "--temperature", "18", "--up-delta", "1", "--down-delta", "0.5", "--api", api, "--api-key", TestApiKeys.Read]);

        Assert.True(setCode == 0, setError);
        Assert.Contains($"published to {topics.Settings}", setOutput, StringComparison.Ordinal);
        Assert.Equal(2, badCode);
        Assert.Contains("temperature must be between", badError, StringComparison.Ordinal);
        Assert.True(statusCode == 0, statusError);
        Assert.Contains("setpoint      19.5 (down 0.5, up 1)", statusOutput, StringComparison.Ordinal);
        Assert.Contains($"owner         {silo.Name}", statusOutput, StringComparison.Ordinal);
        Assert.Equal(ClientApp.NotFound, missingCode);
        Assert.Contains("never-seen", missingError, StringComparison.Ordinal);
        // Without a key, and with a read key for a write: refused, saying what to do.
        Assert.Equal(ClientApp.NotPermitted, anonymousCode);
        Assert.Contains("--api-key or HEARTH_API_KEY", anonymousError, StringComparison.Ordinal);
        Assert.Equal(ClientApp.NotPermitted, readOnlyCode);
        Assert.Contains("403", readOnlyError, StringComparison.Ordinal);
    }

    [Fact]
    public void KafkaProperties_FromTheEnvironment_AFile_AndTheCommandLine_ReachBothClients()
    {
        var file = Path.Combine(Path.GetTempPath(), $"hearth-client-sasl-{Guid.NewGuid():N}");
        File.WriteAllText(file, "s3cret\n");
        try
        {
            // The silo's convention: one Secret serves the silo and the client.
            var environment = new System.Collections.Hashtable
            {
                ["Kafka__Properties__security.protocol"] = "SASL_PLAINTEXT",
                ["Kafka__Properties__sasl.mechanism"] = "SCRAM-SHA-256",
                ["Kafka__PropertyFiles__sasl.password"] = file,
                ["PATH"] = "/usr/bin",
            };

            var properties = KafkaProperties.Resolve(["sasl.username=hearth", "security.protocol=SASL_SSL"], environment);
            var endpoint = new KafkaEndpoint("kafka:9093", "r", "s", "c") { Properties = properties };

            var expected = new Dictionary<string, string>
            {
                ["security.protocol"] = "SASL_SSL",
                ["sasl.mechanism"] = "SCRAM-SHA-256",
                ["sasl.username"] = "hearth",
                ["sasl.password"] = "s3cret",
            };
            Assert.Equal(expected, properties);
            foreach (var config in new Confluent.Kafka.ClientConfig[] { endpoint.ProducerConfig(), endpoint.CommandConsumerConfig() })
            {
                var actual = config.ToDictionary(p => p.Key, p => p.Value);
                Assert.All(expected, p => Assert.Equal(p.Value, actual.GetValueOrDefault(p.Key)));
                Assert.Equal("kafka:9093", actual["bootstrap.servers"]);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void KafkaPropertySetTwice_OrAnUnreadableFile_NamesTheVariable()
    {
        var both = Assert.Throws<ArgumentException>(() => KafkaProperties.Resolve([], new System.Collections.Hashtable
        {
            ["Kafka__Properties__sasl.password"] = "a",
            ["Kafka__PropertyFiles__sasl.password"] = "/no/such/file",
        }));
        Assert.Contains("Kafka__Properties__sasl.password and Kafka__PropertyFiles__sasl.password are both set", both.Message, StringComparison.Ordinal);

        var unreadable = Assert.Throws<ArgumentException>(() => KafkaProperties.Resolve([], new System.Collections.Hashtable { ["Kafka__PropertyFiles__sasl.password"] = "/no/such/file" }));
        Assert.StartsWith("Kafka__PropertyFiles__sasl.password '/no/such/file' cannot be read", unreadable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKafkaPropertyLibrdkafkaRefuses_ExitsWith2_InLibrdkafkasWords()
    {
        // The property reaches the producer: librdkafka itself refuses the value.
        var (code, _, error) = await RunAsync(["set", "t-1", "--temperature", "21", "--up-delta", "1", "--down-delta", "1",
            "--bootstrap", kafka.BootstrapServers, "--kafka-property", "security.protocol=carrier-pigeon"]);

        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: Kafka: ", line, StringComparison.Ordinal);
        Assert.Contains("security.protocol", line, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ClientApp.RunAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }
}
