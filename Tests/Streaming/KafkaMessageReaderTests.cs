using System.Text;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hearth.Tests.Streaming;

/// <summary>Reading messages back by offset, as the receiver does for a batch whose delivery failed for good.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class KafkaMessageReaderTests(EmbeddedKafkaFixture kafka)
{
    [Fact]
    public async Task TheMessagesAtTheOffsets_AreReadBackAsTheyWere_AndAnOffsetKafkaDoesNotHave_IsMissing()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 1);
        using (var producer = kafka.CreateProducer())
        {
            for (var i = 0; i < 5; i++)
            {
                producer.Produce(topics.Input, new Message<string?, byte[]?>
                {
                    Key = $"k{i}", Value = Encoding.UTF8.GetBytes($"body {i}"), Headers = new Headers { { "h", [(byte)i] } },
                });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var options = new KafkaStreamOptions { BootstrapServers = kafka.BootstrapServers, GroupId = topics.GroupId };
        var reader = new KafkaMessageReader(new KafkaClients("test", options, NullLoggerFactory.Instance), new TopicPartition(topics.Input, 0), "reader-test", TimeProvider.System);

        var read = await reader.ReadAsync([1, 3, 7], TimeSpan.FromSeconds(30));

        Assert.Equal([1L, 3L], read.Keys.Order());
        Assert.Equal("k3", Encoding.UTF8.GetString(read[3].Message.Key!));
        Assert.Equal("body 3", Encoding.UTF8.GetString(read[3].Message.Value!));
        Assert.Equal([(byte)3], read[3].Message.Headers.GetLastBytes("h"));
        // Reading commits nothing: the group's checkpoint is the receivers' alone.
        Assert.True(ProviderCluster.Committed(kafka, topics)[0] < 0);
    }
}
