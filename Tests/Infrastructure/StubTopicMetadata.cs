using System.Collections.Concurrent;
using System.Threading.Channels;
using Hearth.Streaming.Kafka.Providers;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// What a test says Kafka says of the input topics, in place of Kafka's metadata: partitions added to a topic and topic ids
/// (a topic created again), which the embedded broker can neither do nor tell. Register it as the provider's keyed
/// <see cref="IKafkaTopicMetadata"/>.
/// </summary>
internal sealed class StubTopicMetadata : IKafkaTopicMetadata
{
    private readonly Channel<string> _reads = Channel.CreateUnbounded<string>();

    /// <summary>The partition count told for each topic; a topic not listed does not exist.</summary>
    public ConcurrentDictionary<string, int> Partitions { get; } = new(StringComparer.Ordinal);

    /// <summary>The topic ids told; while empty, asking for ids fails as it does on the embedded broker.</summary>
    public ConcurrentDictionary<string, string> TopicIds { get; } = new(StringComparer.Ordinal);

    /// <summary>Set to make the next reads of partitions fail, as when Kafka does not answer.</summary>
    public Exception? PartitionsFailure { get; set; }

    public Task<IReadOnlyList<(string Topic, int Partitions)>> ReadPartitionsAsync(IReadOnlyList<string> topics, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _reads.Writer.TryWrite("partitions");
        if (PartitionsFailure is { } failure)
        {
            return Task.FromException<IReadOnlyList<(string, int)>>(failure);
        }

        var missing = topics.FirstOrDefault(t => !Partitions.ContainsKey(t));
        return missing is not null
            ? Task.FromException<IReadOnlyList<(string, int)>>(new KafkaTopicNotFoundException(missing, "the stub"))
            : Task.FromResult<IReadOnlyList<(string, int)>>([.. topics.Select(t => (t, Partitions[t]))]);
    }

    public Task<IReadOnlyDictionary<string, string>> ReadTopicIdsAsync(IReadOnlyList<string> topics, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _reads.Writer.TryWrite("ids");
        return TopicIds.IsEmpty
            ? Task.FromException<IReadOnlyDictionary<string, string>>(new InvalidOperationException("Failed while waiting for controller: Local: Timed out"))
            : Task.FromResult<IReadOnlyDictionary<string, string>>(topics.Where(TopicIds.ContainsKey).ToDictionary(t => t, t => TopicIds[t]));
    }

    /// <summary>Waits until a read of <paramref name="what"/> (<c>partitions</c> or <c>ids</c>) starts.</summary>
    public async Task NextReadAsync(string what, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (await _reads.Reader.ReadAsync(cancel.Token) != what)
        {
        }
    }
}
