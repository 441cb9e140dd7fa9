using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Providers;
using Hearth.Testing;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Hearth.Tests.Unit;

/// <summary>
/// The provider reads its topics' metadata when it starts and every refresh interval after: partitions added become
/// queues, and a topic's Kafka topic id (or, without one, the log incarnation) names the life its offsets count in.
/// </summary>
public sealed class KafkaTopicWatchTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private readonly StubTopicMetadata _metadata = new();
    private readonly LogRecorder _logs = new();
    private readonly KafkaStreamOptions _options = new()
    {
        Topics = ["readings", "settings"],
        LogIncarnation = "embedded-1",
        TopicRefreshInterval = Interval,
    };

    private readonly KafkaTopicWatch _watch;

    public KafkaTopicWatchTests()
    {
        _metadata.Partitions["readings"] = 2;
        _metadata.Partitions["settings"] = 2;
        _watch = new KafkaTopicWatch("kafka", _options, _metadata, _time, _logs.CreateLogger(typeof(KafkaTopicWatch).FullName!));
    }

    [Fact]
    public async Task PartitionsAddedToATopic_BecomeQueues_AtTheNextRefresh()
    {
        await _watch.StartAsync(CancellationToken.None);
        var added = new TaskCompletionSource();
        _watch.Mapper.QueuesAdded += (_, _) => added.TrySetResult();
        _metadata.Partitions["readings"] = 4;

        _time.Advance(Interval - TimeSpan.FromSeconds(1));
        Assert.Equal(4, _watch.Mapper.GetAllQueues().Count());

        _time.Advance(TimeSpan.FromSeconds(1));
        await added.Task.WaitAsync(Timeout);

        Assert.Equal([("readings", 4), ("settings", 2)], _watch.Topics);
        Assert.Contains(KafkaQueueMapper.QueueOf("readings", 3), _watch.Mapper.GetAllQueues());
        Assert.Contains(_logs.Entries, e => e.Message == "Kafka topic readings has 4 partitions now (it had 2): the new ones are shared out over the silos");
    }

    [Fact]
    public async Task ARefreshThatFails_IsLogged_AndTheNextOneGoesOn()
    {
        await _watch.StartAsync(CancellationToken.None);
        var added = new TaskCompletionSource();
        _watch.Mapper.QueuesAdded += (_, _) => added.TrySetResult();
        _metadata.PartitionsFailure = new InvalidOperationException("broker down");

        _time.Advance(Interval);
        await Poll.UntilAsync(() => Task.FromResult(_logs.Entries.Any(e => e.Level == LogLevel.Warning)), Timeout, "the failed refresh logged");
        _metadata.PartitionsFailure = null;
        _metadata.Partitions["settings"] = 3;
        _time.Advance(Interval);
        await added.Task.WaitAsync(Timeout);

        Assert.Equal([("readings", 2), ("settings", 3)], _watch.Topics);
        Assert.Contains(_logs.Entries, e => e.Message == "Kafka stream provider kafka could not read its topics' metadata (broker down); trying again in 00:00:30");
    }

    [Fact]
    public async Task AMissingTopic_FailsTheStart()
    {
        _metadata.Partitions.TryRemove("settings", out _);

        var failure = await Assert.ThrowsAsync<KafkaTopicNotFoundException>(() => _watch.StartAsync(CancellationToken.None));

        Assert.Equal("settings", failure.Topic);
    }

    [Fact]
    public async Task WithoutTopicIds_MessagesCountInTheLogIncarnation_AndTheSiloSaysSoOnce()
    {
        await _watch.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Task.FromResult(_logs.Entries.Any(e => e.Message.Contains("no Kafka topic ids", StringComparison.Ordinal))), Timeout, "the fallback told");

        _time.Advance(Interval);
        await _metadata.NextReadAsync("ids", Timeout);
        _time.Advance(Interval);
        await _metadata.NextReadAsync("ids", Timeout);

        Assert.Equal("embedded-1", _watch.LogOf("readings"));
        Assert.Same(_options.LogIncarnation, _watch.LogOf("settings"));
        Assert.Equal(
            ["Kafka stream provider kafka has no Kafka topic ids (Failed while waiting for controller: Local: Timed out); its topics' offsets count in log incarnation embedded-1, so a topic deleted and created again under its name is not told from its old self"],
            _logs.Entries.Where(e => e.Message.Contains("topic ids", StringComparison.Ordinal)).Select(e => e.Message));
        // Without ids, nothing would tell a new life: a receiver that asks does not wait.
        Assert.True(_watch.ReadLivesAgainAsync().IsCompleted);
    }

    [Fact]
    public async Task WithTopicIds_MessagesCountInTheirTopicsId_AndANewIdIsANewLife()
    {
        _metadata.TopicIds["readings"] = "id-readings-1";
        _metadata.TopicIds["settings"] = "id-settings-1";
        await _watch.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Task.FromResult(_watch.LogOf("settings") == "id-settings-1"), Timeout, "the ids read");
        Assert.Equal("id-readings-1", _watch.LogOf("readings"));
        Assert.Contains(_logs.Entries, e => e.Message == "Kafka stream provider kafka tells the lives of its topics apart by their Kafka topic ids: a topic deleted and created again is read as a new one");

        // The readings topic is deleted and created again; a later answer lacks the settings topic's id.
        _metadata.TopicIds["readings"] = "id-readings-2";
        _metadata.TopicIds.TryRemove("settings", out _);
        _time.Advance(Interval);
        await Poll.UntilAsync(() => Task.FromResult(_watch.LogOf("readings") == "id-readings-2"), Timeout, "the new life seen");

        Assert.Equal("id-settings-1", _watch.LogOf("settings"));
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning &&
            e.Message == "Kafka topic readings was deleted and created again (topic id id-readings-1, now id-readings-2): its partitions are read again from the new topic's committed offsets or its beginning");
        Assert.DoesNotContain(_logs.Entries, e => e.Message.Contains("no Kafka topic ids", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReceiverThatAsksForTheLivesAgain_GetsThemFromARequestMadeAfterItAsked()
    {
        _metadata.TopicIds["readings"] = "id-1";
        await _watch.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Task.FromResult(_watch.LogOf("readings") == "id-1"), Timeout, "the ids read");

        _metadata.TopicIds["readings"] = "id-2";
        await _watch.ReadLivesAgainAsync().WaitAsync(Timeout);

        Assert.Equal("id-2", _watch.LogOf("readings"));
    }

    public void Dispose()
    {
        _watch.Dispose();
        _logs.Dispose();
    }
}
