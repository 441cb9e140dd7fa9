using System.Collections.Concurrent;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Streaming.Kafka.Receiving;
using Hearth.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hearth.Tests.Unit;

/// <summary>
/// A partition's fetcher stamps every message with the life of the topic its consumer reads, and stops where the
/// consumer's offsets go back (librdkafka starts a partition over from its beginning when a topic was created again).
/// </summary>
public sealed class KafkaPartitionFetcherTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TopicPartition Partition = new("readings", 3);

    [Fact]
    public async Task EveryMessage_CarriesTheTopicLifeItWasReadIn()
    {
        var consumer = new ScriptedConsumer(5, 6, 7);
        await using var fetcher = new KafkaPartitionFetcher(
            consumer, new CapturedBytes(), new CapturedBytes(), Partition, 5, new LifeAdapter(), "topic-id-7", 100, NullLogger.Instance);

        var taken = await TakeAsync(fetcher, 3);

        Assert.Equal(["readings[3]@5 in topic-id-7", "readings[3]@6 in topic-id-7", "readings[3]@7 in topic-id-7"], taken);
        Assert.Null(fetcher.WentBack);
    }

    [Fact]
    public async Task AnOffsetBelowTheLastOne_StopsTheFetcher_WithoutTakingIt()
    {
        var consumer = new ScriptedConsumer(5, 6, 2, 3);
        await using var fetcher = new KafkaPartitionFetcher(
            consumer, new CapturedBytes(), new CapturedBytes(), Partition, 5, new LifeAdapter(), "topic-id-1", 100, NullLogger.Instance);

        var taken = await TakeAsync(fetcher, 2);
        await Poll.UntilAsync(() => Task.FromResult(fetcher.WentBack is not null), Timeout, "the fetcher sees the offsets go back");

        Assert.Equal(["readings[3]@5 in topic-id-1", "readings[3]@6 in topic-id-1"], taken);
        Assert.Equal((7L, 2L), fetcher.WentBack);
        Assert.Equal(0, fetcher.Buffered);
        // The thread stopped at offset 2: offset 3 was never asked for.
        Assert.Equal(3, consumer.Consumed);
    }

    [Fact]
    public async Task AnOffsetBelowTheStart_StopsTheFetcher()
    {
        // Assigned its committed offset 10, the consumer found the partition shorter and started it over.
        var consumer = new ScriptedConsumer(0, 1);
        await using var fetcher = new KafkaPartitionFetcher(
            consumer, new CapturedBytes(), new CapturedBytes(), Partition, 10, new LifeAdapter(), "", 100, NullLogger.Instance);

        await Poll.UntilAsync(() => Task.FromResult(fetcher.WentBack is not null), Timeout, "the fetcher sees the offsets go back");

        Assert.Equal((10L, 0L), fetcher.WentBack);
        Assert.Null(await fetcher.TakeAsync(10, TimeSpan.Zero, CancellationToken.None));
    }

    private static async Task<List<string>> TakeAsync(KafkaPartitionFetcher fetcher, int count)
    {
        var taken = new List<string>();
        using var cancel = new CancellationTokenSource(Timeout);
        while (taken.Count < count)
        {
            if (await fetcher.TakeAsync(count - taken.Count, Timeout, cancel.Token) is { } batch)
            {
                taken.AddRange(batch.Events.Cast<string>());
            }

            cancel.Token.ThrowIfCancellationRequested();
        }

        return taken;
    }

    /// <summary>Decodes a message to where it was read and the life it was stamped with.</summary>
    private sealed class LifeAdapter : IKafkaDataAdapter
    {
        public KafkaDecodeResult Decode(in KafkaMessage message) =>
            KafkaDecodeResult.Event($"{message.Topic}[{message.Partition}]@{message.Offset} in {message.TopicId}");

        public byte[] Encode<T>(StreamId streamId, T item) => throw new NotSupportedException();
    }

    /// <summary>
    /// A consumer that gives the offsets it was given, one per consume call, then nothing; it does nothing else (the
    /// fetcher only consumes). Written out, as a generated proxy cannot implement an interface of internal types.
    /// </summary>
    private sealed class ScriptedConsumer(params long[] offsets) : IConsumer<CapturedBytes.Marker, CapturedBytes.Marker>
    {
        private readonly ConcurrentQueue<long> _offsets = new(offsets);
        private int _consumed;

        public int Consumed => Volatile.Read(ref _consumed);

        public ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker>? Consume(TimeSpan timeout)
        {
            if (!_offsets.TryDequeue(out var offset))
            {
                Thread.Sleep(timeout);
                return null;
            }

            Interlocked.Increment(ref _consumed);
            return new ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker>
            {
                TopicPartitionOffset = new TopicPartitionOffset(Partition, offset),
                Message = new Message<CapturedBytes.Marker, CapturedBytes.Marker> { Timestamp = new Timestamp(DateTime.UnixEpoch, TimestampType.CreateTime) },
            };
        }

        public ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker> Consume(int millisecondsTimeout) => throw new NotSupportedException();

        public ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker> Consume(CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        public Handle Handle => throw new NotSupportedException();

        public string Name => "scripted";

        public string MemberId => throw new NotSupportedException();

        public List<TopicPartition> Assignment => throw new NotSupportedException();

        public List<string> Subscription => throw new NotSupportedException();

        public IConsumerGroupMetadata ConsumerGroupMetadata => throw new NotSupportedException();

        public int AddBrokers(string brokers) => throw new NotSupportedException();

        public void SetSaslCredentials(string username, string password) => throw new NotSupportedException();

        public void Subscribe(IEnumerable<string> topics) => throw new NotSupportedException();

        public void Subscribe(string topic) => throw new NotSupportedException();

        public void Unsubscribe() => throw new NotSupportedException();

        public void Assign(TopicPartition partition) => throw new NotSupportedException();

        public void Assign(TopicPartitionOffset partition) => throw new NotSupportedException();

        public void Assign(IEnumerable<TopicPartitionOffset> partitions) => throw new NotSupportedException();

        public void Assign(IEnumerable<TopicPartition> partitions) => throw new NotSupportedException();

        public void IncrementalAssign(IEnumerable<TopicPartitionOffset> partitions) => throw new NotSupportedException();

        public void IncrementalAssign(IEnumerable<TopicPartition> partitions) => throw new NotSupportedException();

        public void IncrementalUnassign(IEnumerable<TopicPartition> partitions) => throw new NotSupportedException();

        public void Unassign() => throw new NotSupportedException();

        public void StoreOffset(ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker> result) => throw new NotSupportedException();

        public void StoreOffset(TopicPartitionOffset offset) => throw new NotSupportedException();

        public List<TopicPartitionOffset> Commit() => throw new NotSupportedException();

        public void Commit(IEnumerable<TopicPartitionOffset> offsets) => throw new NotSupportedException();

        public void Commit(ConsumeResult<CapturedBytes.Marker, CapturedBytes.Marker> result) => throw new NotSupportedException();

        public void Seek(TopicPartitionOffset tpo) => throw new NotSupportedException();

        public void Pause(IEnumerable<TopicPartition> partitions) => throw new NotSupportedException();

        public void Resume(IEnumerable<TopicPartition> partitions) => throw new NotSupportedException();

        public List<TopicPartitionOffset> Committed(TimeSpan timeout) => throw new NotSupportedException();

        public List<TopicPartitionOffset> Committed(IEnumerable<TopicPartition> partitions, TimeSpan timeout) => throw new NotSupportedException();

        public Offset Position(TopicPartition partition) => throw new NotSupportedException();

        public List<TopicPartitionOffset> OffsetsForTimes(IEnumerable<TopicPartitionTimestamp> timestampsToSearch, TimeSpan timeout) =>
            throw new NotSupportedException();

        public WatermarkOffsets GetWatermarkOffsets(TopicPartition topicPartition) => throw new NotSupportedException();

        public WatermarkOffsets QueryWatermarkOffsets(TopicPartition topicPartition, TimeSpan timeout) => throw new NotSupportedException();

        public void Close() => throw new NotSupportedException();
    }
}
