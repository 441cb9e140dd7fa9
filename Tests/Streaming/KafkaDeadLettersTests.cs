using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Producing;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Tests.Streaming;

/// <summary>
/// Dead letters a consumer asks for (<see cref="IKafkaDeadLetters"/>) while Kafka refuses them: the partition shows
/// stalled, a consumer that gives up waiting and asks again waits for the same dead letters, and each is written once.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class KafkaDeadLettersTests(EmbeddedKafkaFixture kafka)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DeadLettersKafkaRefuses_StallTheirPartition_AndAskedForAgain_AreWrittenOnceEachWhenKafkaTakesThem()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 1);
        using (var producer = kafka.CreateProducer())
        {
            for (var i = 0; i < 3; i++)
            {
                producer.Produce(topics.Input, new Message<string?, byte[]?> { Key = $"k{i}", Value = Encoding.UTF8.GetBytes($"body {i}") });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var factory = new KafkaAdapterFactory(
            "test",
            new KafkaStreamOptions
            {
                BootstrapServers = kafka.BootstrapServers, GroupId = topics.GroupId, Topics = [topics.Input], DeadLetterTopic = topics.DeadLetter,
            },
            new TestEventAdapter(), new OpenCheckpointFence(), NullLoggerFactory.Instance, services.GetRequiredService<IMeterFactory>(), TimeProvider.System);
        Task repeat;
        kafka.Cluster.SetTopicError(topics.DeadLetter, ErrorCode.TopicAuthorizationFailed);
        try
        {
            using var giveUp = new CancellationTokenSource();
            var first = factory.DeadLetterAsync(topics.Input, 0, [0, 2], "the controller failed", giveUp.Token);
            await Poll.UntilAsync(() => Task.FromResult(factory.Stalls().Count > 0), Timeout, "the partition stalled by its refused dead letters");
            var stall = Assert.Single(factory.Stalls());
            Assert.Equal((topics.Input, 0), (stall.Topic, stall.Partition));
            Assert.Contains("TopicAuthorizationFailed", stall.Reason, StringComparison.Ordinal);

            // The consumer gives up waiting (its delivery's time is over) and asks again, for one more message too.
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
            repeat = factory.DeadLetterAsync(topics.Input, 0, [0, 1, 2], "the controller failed");
            Assert.False(repeat.IsCompleted);
        }
        finally
        {
            kafka.Cluster.SetTopicError(topics.DeadLetter, ErrorCode.NoError);
        }

        await repeat.WaitAsync(Timeout);
        var letters = TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout);
        Assert.Equal([0L, 1L, 2L],
            letters.Select(l => long.Parse(KafkaDeadLetterHeaders.GetText(l.Message.Headers, KafkaDeadLetterHeaders.SourceOffset)!, CultureInfo.InvariantCulture)).Order());
        Assert.Equal(["k0", "k1", "k2"], letters.Select(l => l.Message.Key).Order(StringComparer.Ordinal));
        Assert.Empty(factory.Stalls());
    }
}
