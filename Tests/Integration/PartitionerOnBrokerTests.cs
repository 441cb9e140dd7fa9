using System.Text;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Tests.Infrastructure;

namespace Hearth.Tests.Integration;

[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class PartitionerOnBrokerTests(EmbeddedKafkaFixture kafka)
{
    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(32)]
    public async Task OurPartition_IsWhereConfluentsMurmur2RandomProducerPutTheKey(int partitions)
    {
        var topic = kafka.CreateTopics(partitions).Readings;
        using var producer = kafka.CreateProducer();
        var keys = Enumerable.Range(0, 300).Select(i => i % 3 == 0 ? $"t-{i}" : i % 3 == 1 ? $"thermostat/{i * 7919}" : $"bâtiment-{i}-é").ToList();

        var delivered = await Task.WhenAll(keys.Select(k => producer.ProduceAsync(topic, new Message<string?, byte[]?> { Key = k, Value = [1] })));

        Assert.All(delivered, d => Assert.Equal(KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(d.Message.Key!), partitions), d.Partition.Value));
        Assert.True(delivered.Select(d => d.Partition.Value).Distinct().Count() > partitions / 2, "keys should spread over the partitions");
    }
}
