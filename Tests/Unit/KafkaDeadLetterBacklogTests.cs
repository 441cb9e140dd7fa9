using Confluent.Kafka;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Producing;
using Microsoft.Extensions.Time.Testing;

namespace Hearth.Tests.Unit;

/// <summary>
/// A partition's dead letters while Kafka refuses them: one is tried again, backing off, the others wait unsent; the
/// partition is stalled from the first refusal until Kafka takes one, and then the waiting ones go.
/// </summary>
public sealed class KafkaDeadLetterBacklogTests
{
    private static readonly TopicPartition Source = new("readings", 2);
    private readonly FakeTimeProvider _time = new();
    private readonly KafkaDeadLetterBacklog _backlog = new(Source);

    [Fact]
    public void TheFirstRefusal_StallsThePartition_AndOnlyThatLetterIsTriedAgain_BackingOff()
    {
        var (first, second, third) = (Letter(0), Letter(1), Letter(2));
        Assert.All([first, second], letter => Assert.True(_backlog.Add(letter)));

        var refusedFirst = _backlog.Refused(first, "authorization failed", _time.GetUtcNow());
        var refusedSecond = _backlog.Refused(second, "authorization failed", _time.GetUtcNow());
        var refusedAgain = _backlog.Refused(first, "authorization failed still", _time.GetUtcNow());

        Assert.True(refusedFirst.Started);
        Assert.NotNull(refusedFirst.RetryAfter);
        Assert.Equal((false, null), refusedSecond);
        Assert.False(refusedAgain.Started);
        Assert.InRange(refusedAgain.RetryAfter!.Value, 2 * KafkaBackoff.DefaultMin, KafkaBackoff.DefaultMax);
        // A letter of a stalled partition waits behind the one tried, unsent.
        Assert.False(_backlog.Add(third));
        Assert.Equal(3, _backlog.Unpublished);
        var stall = _backlog.Stall!;
        Assert.Equal(("readings", 2, _time.GetUtcNow()), (stall.Topic, stall.Partition, stall.Since));
        Assert.Equal("authorization failed still; 3 dead letters wait", stall.Reason);
    }

    [Fact]
    public void OnceKafkaTakesTheLetterTriedAgain_TheStallEnds_AndTheWaitingLettersAreReleased()
    {
        var letters = Enumerable.Range(0, 3).Select(Letter).ToList();
        letters.ForEach(letter => _backlog.Add(letter));
        letters.ForEach(letter => _backlog.Refused(letter, "refused", _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromSeconds(12));

        var (stalled, released) = _backlog.Published(letters[0], _time.GetUtcNow());

        Assert.Equal(TimeSpan.FromSeconds(12), stalled);
        Assert.Equal(letters.Skip(1), released);
        Assert.Null(_backlog.Stall);
        Assert.Equal(2, _backlog.Unpublished);
        var (notStalled, none) = _backlog.Published(letters[1], _time.GetUtcNow());
        Assert.Null(notStalled);
        Assert.Empty(none);
        Assert.True(_backlog.Add(Letter(3)));
    }

    [Fact]
    public async Task AWaitForRoom_EndsWhenAPublicationMakesIt_OrFailsWhenTheWaitIsOver()
    {
        var letters = Enumerable.Range(0, 3).Select(Letter).ToList();
        letters.ForEach(letter => _backlog.Add(letter));

        var waiting = _backlog.WaitBelowAsync(2, TimeSpan.FromSeconds(1), _time, CancellationToken.None);
        _backlog.Published(letters[0], _time.GetUtcNow());
        Assert.False(waiting.IsCompleted, "there is room for fewer than 2 only once two letters are published");
        _backlog.Published(letters[1], _time.GetUtcNow());
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));

        var full = _backlog.WaitBelowAsync(1, TimeSpan.FromSeconds(1), _time, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await full.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private KafkaPublisher.PendingDeadLetter Letter(int offset) => new(
        "deadletter", _backlog,
        new ConsumeResult<byte[]?, byte[]?> { TopicPartitionOffset = new TopicPartitionOffset(Source, offset), Message = new Message<byte[]?, byte[]?>() },
        "invalid JSON", () => { }, 1_000_000);
}
