using Confluent.Kafka;
using Hearth.Silo.Hosting;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hearth.Tests.Unit;

/// <summary>
/// Every Kafka client the silo builds (each queue's consumer, the reader, the committer, the producer, the admin
/// clients of the provider and of the start's topic check) gets the security properties of <c>Kafka:Properties</c>:
/// one left out would connect in plain text, or fail to authenticate, while the others work.
/// </summary>
public sealed class KafkaClientSecurityTests
{
    private static readonly Dictionary<string, string> Security = new(StringComparer.Ordinal)
    {
        ["security.protocol"] = "SASL_SSL",
        ["sasl.mechanism"] = "SCRAM-SHA-512",
        ["sasl.username"] = "hearth",
        ["sasl.password"] = "s3cret",
        ["ssl.ca.location"] = "/etc/hearth/kafka/ca.crt",
    };

    public static TheoryData<string> Roles => ["consumer", "reader", "committer", "producer", "admin", "topic check"];

    [Theory]
    [MemberData(nameof(Roles))]
    public void EveryClientOfTheSilo_GetsTheSecurityProperties(string role)
    {
        var options = new KafkaStreamOptions { BootstrapServers = "kafka:9093", ClientId = "silo-1", Properties = new Dictionary<string, string>(Security) };
        var clients = new KafkaClients("kafka", options, NullLoggerFactory.Instance);

        ClientConfig config = role switch
        {
            "consumer" => clients.ConsumerConfig("queue-0"),
            "reader" => clients.ReaderConfig("queue-0"),
            "committer" => clients.CommitterConfig(),
            "producer" => clients.ProducerConfig(),
            "admin" => clients.AdminConfig(),
            _ => KafkaTopicCheck.Config(options),
        };

        var properties = config.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var (name, value) in Security)
        {
            Assert.True(properties.TryGetValue(name, out var actual) && actual == value, $"The {role}'s {name} is '{actual}', not '{value}'.");
        }

        Assert.Equal("kafka:9093", properties["bootstrap.servers"]);
    }
}
