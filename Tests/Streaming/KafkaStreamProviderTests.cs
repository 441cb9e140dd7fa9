using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Producing;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Hearth.Tests.Streaming;

/// <summary>
/// The Kafka stream provider on its own, with a recording grain per partition stream: delivery in partition order,
/// batching, checkpoints, dead letters and producing. In-process Orleans clusters against the embedded broker.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class KafkaStreamProviderTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task EveryMessage_IsDeliveredOnceInOrderPerKey_GroupedIntoBatches_AndTheCheckpointReachesTheEnd()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 4);
        var prefix = Prefix();
        var keys = Enumerable.Range(0, 50).Select(i => $"{prefix}{i}").ToList();
        // Published before the silo starts, so that the first reads bring several events of a key at once.
        var sent = Publish(topics, keys.SelectMany(k => Enumerable.Range(0, 20).Select(n => ((string?)k, $"{n}"))));
        await using var cluster = await ProviderCluster.StartAsync(kafka, topics, output);

        await ProviderLedger.WaitUntilAsync(() => ProviderLedger.Of(prefix).Count >= sent.Count, Timeout,
            () => $"{ProviderLedger.Of(prefix).Count} of {sent.Count} delivered");
        await ProviderCluster.WaitForCommittedAsync(kafka, topics, kafka.EndOffsets(topics.Input), Timeout);

        var deliveries = ProviderLedger.Of(prefix);
        Assert.Equal(sent.Count, deliveries.Count);
        foreach (var key in keys)
        {
            var ofKey = deliveries.Where(d => d.Key == key).ToList();
            Assert.Equal(Enumerable.Range(0, 20).Select(n => n.ToString(CultureInfo.InvariantCulture)), ofKey.Select(d => d.Body));
            Assert.Equal(ofKey.Select(d => d.Token.Offset).Order(), ofKey.Select(d => d.Token.Offset));
            Assert.All(ofKey, d => Assert.Equal(KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(key), topics.Partitions), d.Token.Partition));
        }

        // A partition's messages arrive many to a delivery.
        Assert.Contains(deliveries, d => d.BatchSize > keys.Count / topics.Partitions);
        Assert.Empty(TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout));
    }

    [Fact]
    public async Task TheCheckpoint_NeverPassesAMessageWhoseDeliveryHasNotCompleted_AndThePartitionWaitsInOrder()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 1);
        var prefix = Prefix();
        var stuck = $"{prefix}stuck";
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ProviderLedger.OnDelivery(stuck, _ =>
        {
            entered.TrySetResult();
            return release.Task;
        });
        await using var cluster = await ProviderCluster.StartAsync(kafka, topics, output);

        var first = Publish(topics, [($"{prefix}before", "0")]);
        await ProviderCluster.WaitForCommittedAsync(kafka, topics, kafka.EndOffsets(topics.Input), Timeout);
        var stuckOffset = Publish(topics, [(stuck, "held")]).Single().Offset;
        await entered.Task.WaitAsync(Timeout);
        var others = Publish(topics, Enumerable.Range(0, 30).Select(i => ((string?)$"{prefix}other-{i % 5}", $"{i}")));

        // A commit that moved past the held message would show within a few commit intervals (100 ms); the messages
        // after it wait for it, in the partition's order.
        var ends = kafka.EndOffsets(topics.Input);
        await Assert.ThrowsAsync<TimeoutException>(() => ProviderCluster.WaitForCommittedAsync(kafka, topics, ends, TimeSpan.FromSeconds(2)));
        Assert.Equal(stuckOffset, ProviderCluster.Committed(kafka, topics)[0]);
        Assert.Empty(ProviderLedger.Of($"{prefix}other-"));

        release.SetResult();
        await ProviderCluster.WaitForCommittedAsync(kafka, topics, ends, Timeout);
        await ProviderLedger.WaitUntilAsync(() => ProviderLedger.Of($"{prefix}other-").Count == others.Count, Timeout,
            () => $"{ProviderLedger.Of($"{prefix}other-").Count} of {others.Count} delivered");
        Assert.Single(ProviderLedger.Of(stuck));
        Assert.Equal(others.Select(o => o.Offset), ProviderLedger.Of($"{prefix}other-").Select(d => d.Token.Offset));
        Assert.Single(first);
    }

    [Fact]
    public async Task APoisonMessage_IsDeadLetteredWithItsOrigin_AndTheNextMessageIsProcessed()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 2);
        var prefix = Prefix();
        await using var cluster = await ProviderCluster.StartAsync(kafka, topics, output);

        var sent = Publish(topics, [($"{prefix}a", "poison pill"), ($"{prefix}a", "fine"), (null, "no key")]);
        await ProviderLedger.WaitUntilAsync(() => ProviderLedger.Of(prefix).Count == 1, Timeout, () => "the good message");
        await ProviderCluster.WaitForCommittedAsync(kafka, topics, kafka.EndOffsets(topics.Input), Timeout);

        Assert.Equal("fine", Assert.Single(ProviderLedger.Of(prefix)).Body);
        var letters = TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout);
        Assert.Equal(2, letters.Count);
        AssertDeadLetter(letters.Single(l => l.Message.Key == $"{prefix}a"), sent[0], "undecodable: poison pill", topics);
        AssertDeadLetter(letters.Single(l => l.Message.Key is null), sent[2], "message has no key", topics);
    }

    [Fact]
    public async Task ABatchWhoseDeliveryKeepsFailing_IsDeadLetteredAsItWasAfterTheMaximumDeliveryTime_AndThePartitionGoesOn()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 1);
        var prefix = Prefix();
        var key = $"{prefix}k";
        var failing = true;
        ProviderLedger.OnDelivery(key, _ => failing ? throw new InvalidOperationException("the consumer is broken") : Task.CompletedTask);
        await using var cluster = await ProviderCluster.StartAsync(kafka, topics, output,
            agent: o => o.MaxEventDeliveryTime = TimeSpan.FromSeconds(2));

        var bad = Publish(topics, [(key, "refused")]).Single();
        var letter = Assert.Single(await ReadDeadLettersAsync(topics, 1));
        AssertDeadLetter(letter, bad, "delivery to a consumer of its stream kept failing", topics);
        // The record is the message as it was in Kafka (read back: the cache keeps only what was decoded).
        Assert.Equal(key, letter.Message.Key);
        Assert.Equal("refused", Encoding.UTF8.GetString(letter.Message.Value!));

        failing = false;
        var next = Publish(topics, [(key, "accepted"), ($"{prefix}other", "after")]);
        await ProviderLedger.WaitUntilAsync(() => ProviderLedger.Of(prefix).Count == 2, Timeout, () => "the partition's next messages");
        await ProviderCluster.WaitForCommittedAsync(kafka, topics, kafka.EndOffsets(topics.Input), Timeout);
        Assert.Equal(["accepted", "after"], ProviderLedger.Of(prefix).Select(d => d.Body));
        Assert.Equal(2, next.Count);
    }

    [Fact]
    public async Task PublishingToAStream_WritesPlainJson_KeyedByTheStreamKey_OnItsMurmur2Partition()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 8);
        var prefix = Prefix();
        await using var cluster = await ProviderCluster.StartAsync(kafka, topics, output);

        var keys = Enumerable.Range(0, 20).Select(i => $"{prefix}{i}").ToList();
        foreach (var key in keys)
        {
            await cluster.Client.GetGrain<IPublisherGrain>(key).PublishAsync("provider-output", $"out-{key}");
        }

        // Each publish returned after Kafka had the message: it is there now.
        var written = TopicReader.ReadAll(kafka.BootstrapServers, topics.Output, Timeout);
        Assert.Equal(keys.Count, written.Count);
        foreach (var message in written)
        {
            var key = message.Message.Key!;
            Assert.Equal(KafkaPartitioner.Partition(Encoding.UTF8.GetBytes(key), topics.Partitions), message.Partition.Value);
            using var json = JsonDocument.Parse(message.Message.Value);
            Assert.Equal($"out-{key}", json.RootElement.GetProperty("body").GetString());
        }
    }

    [Fact]
    public async Task PublishingWhatKafkaRefuses_FailsTheCaller_WithKafkasError()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 2);
        await using var cluster = await ProviderCluster.StartAsync(kafka, topics, output);

        // Over the producer's message.max.bytes (1,000,000): Kafka refuses it. The caller (here a client, as the
        // pulling agent on another silo is for a controller) gets what Kafka said, not a serialization failure.
        var error = await Assert.ThrowsAsync<KafkaException>(() =>
            cluster.Client.GetGrain<IPublisherGrain>(Prefix() + "big").PublishAsync("provider-output", new string('x', 1_100_000)));

        // Kafka's error code is in the message: an exception crosses silos with its message, not its fields.
        Assert.StartsWith($"Publishing to {topics.Output} failed: ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith($"({Confluent.Kafka.ErrorCode.MsgSizeTooLarge})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueuesMoveWhenASiloJoinsAndWhenOneStops_AndNoMessageIsLost()
    {
        var topics = ProviderTopics.Create(kafka, partitions: 6);
        var prefix = Prefix();
        var keys = Enumerable.Range(0, 60).Select(i => $"{prefix}{i}").ToList();
        await using var cluster = await ProviderCluster.StartAsync(kafka, topics, output);
        var sent = Publish(topics, keys.Select(k => ((string?)k, "1")));
        await ProviderLedger.WaitUntilAsync(() => ProviderLedger.Of(prefix).Select(d => d.Key).Distinct().Count() == keys.Count, Timeout,
            () => "first round");
        Assert.Equal(Enumerable.Range(0, topics.Partitions), ProviderCluster.Ownership(cluster).Values.Single().Order());

        var second = await cluster.StartAdditionalSiloAsync();
        await Poll.UntilAsync(
            () => Task.FromResult(ProviderCluster.Ownership(cluster).Values.All(q => q.Count > 0) &&
                  ProviderCluster.Ownership(cluster).Values.Sum(q => q.Count) == topics.Partitions),
            Timeout, "queues spread over both silos", () => Task.FromResult(string.Join("; ", ProviderCluster.Ownership(cluster).Select(o => $"{o.Key}: {string.Join(",", o.Value)}"))));
        sent.AddRange(Publish(topics, keys.Select(k => ((string?)k, "2"))));
        await ProviderLedger.WaitUntilAsync(() => ProviderLedger.Of(prefix).Count(d => d.Body == "2") >= keys.Count, Timeout, () => "second round");
        // The joining silo read its share itself.
        Assert.True(second.ServiceProvider.GetRequiredKeyedService<IKafkaStreamStatus>(ProviderCluster.ProviderName).Partitions().Sum(p => p.Received) > 0);

        await cluster.StopSiloAsync(second);
        await Poll.UntilAsync(() => Task.FromResult(ProviderCluster.Ownership(cluster).Values.Single().Count == topics.Partitions), Timeout,
            "every queue back on the remaining silo", () => Task.FromResult(string.Join("; ", ProviderCluster.Ownership(cluster).Select(o => $"{o.Key}: {string.Join(",", o.Value)}"))));
        sent.AddRange(Publish(topics, keys.Select(k => ((string?)k, "3"))));
        await ProviderLedger.WaitUntilAsync(() => ProviderLedger.Of(prefix).Count(d => d.Body == "3") >= keys.Count, Timeout, () => "third round");
        await ProviderCluster.WaitForCommittedAsync(kafka, topics, kafka.EndOffsets(topics.Input), Timeout);

        // At least once: every message reached its key's grain; a handoff may deliver a message twice.
        var delivered = ProviderLedger.Of(prefix).Select(d => (d.Key, d.Token.Partition, d.Token.Offset)).ToHashSet();
        Assert.All(sent, s => Assert.Contains((s.Key, s.Partition, s.Offset), delivered));
    }

    private static string Prefix() => $"p{Guid.NewGuid():N}"[..12] + "-";

    private List<(string Key, int Partition, long Offset)> Publish(ProviderTopics topics, IEnumerable<(string? Key, string Body)> messages)
    {
        using var producer = kafka.CreateProducer();
        var results = messages.Select(m => producer.ProduceAsync(topics.Input,
            new Message<string?, byte[]?> { Key = m.Key, Value = Encoding.UTF8.GetBytes(m.Body) })).ToList();
        producer.Flush(Timeout);
        return results.Select(r => (r.Result.Message.Key ?? "", r.Result.Partition.Value, r.Result.Offset.Value)).ToList();
    }

    private async Task<IReadOnlyList<ConsumeResult<string?, byte[]?>>> ReadDeadLettersAsync(ProviderTopics topics, int count)
    {
        await Poll.UntilAsync(() => Task.FromResult(kafka.EndOffsets(topics.DeadLetter).Values.Sum() >= count), Timeout, $"{count} dead letters");
        return TopicReader.ReadAll(kafka.BootstrapServers, topics.DeadLetter, Timeout);
    }

    private static void AssertDeadLetter(ConsumeResult<string?, byte[]?> letter, (string Key, int Partition, long Offset) origin, string reason, ProviderTopics topics)
    {
        Assert.Contains(reason, KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.Error), StringComparison.Ordinal);
        Assert.Equal(topics.Input, KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.SourceTopic));
        Assert.Equal(origin.Partition.ToString(CultureInfo.InvariantCulture), KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.SourcePartition));
        Assert.Equal(origin.Offset.ToString(CultureInfo.InvariantCulture), KafkaDeadLetterHeaders.GetText(letter.Message.Headers, KafkaDeadLetterHeaders.SourceOffset));
    }
}
