using Confluent.Kafka;
using Confluent.Kafka.Admin;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// What Kafka says of the input topics: their partition counts and their topic ids. The provider asks Kafka
/// (<see cref="KafkaAdminTopicMetadata"/>); a test registers its own in its place, as a keyed service of the provider's
/// name, to tell of partitions or topic ids that the embedded broker cannot tell (it adds no partitions to a topic and
/// gives no topic ids).
/// </summary>
internal interface IKafkaTopicMetadata
{
    /// <summary>The partition count of each of <paramref name="topics"/>.</summary>
    /// <exception cref="KafkaTopicNotFoundException">Kafka has no such topic.</exception>
    Task<IReadOnlyList<(string Topic, int Partitions)>> ReadPartitionsAsync(IReadOnlyList<string> topics, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>
    /// The topic id (KIP-516, Kafka 2.8 and later) of each of <paramref name="topics"/> that has one. A topic deleted and
    /// created again under its name has a new id, and its offsets start again at 0.
    /// </summary>
    /// <exception cref="Exception">Kafka could not be asked: a broker without topic ids, or one that did not answer.</exception>
    Task<IReadOnlyDictionary<string, string>> ReadTopicIdsAsync(IReadOnlyList<string> topics, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>Asks Kafka, with an admin client for each question (a question every refresh interval at most).</summary>
internal sealed class KafkaAdminTopicMetadata(KafkaClients clients) : IKafkaTopicMetadata
{
    public async Task<IReadOnlyList<(string Topic, int Partitions)>> ReadPartitionsAsync(
        IReadOnlyList<string> topics, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var admin = clients.CreateAdminClient();
        var counts = new List<(string, int)>(topics.Count);
        foreach (var topic in topics)
        {
            var metadata = await Task.Run(() => admin.GetMetadata(topic, timeout), cancellationToken).ConfigureAwait(false);
            var described = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
            if (described is null || described.Error.Code == ErrorCode.UnknownTopicOrPart || described.Partitions.Count == 0)
            {
                throw new KafkaTopicNotFoundException(topic, clients.Options.BootstrapServers);
            }

            if (described.Error.IsError)
            {
                throw new InvalidOperationException($"Kafka topic '{topic}' cannot be read: {described.Error.Reason}.");
            }

            counts.Add((topic, described.Partitions.Count));
        }

        return counts;
    }

    public async Task<IReadOnlyDictionary<string, string>> ReadTopicIdsAsync(
        IReadOnlyList<string> topics, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // DescribeTopics goes to the controller: a broker that names none (librdkafka's mock) leaves it waiting for
        // the whole timeout, and it takes no cancellation. The admin client goes when the request has ended, or at once
        // when the silo stops (so it does not go on calling a broker that is gone, an embedded one say).
        var admin = clients.CreateAdminClient();
        var disposed = 0;
        void DisposeOnce()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                admin.Dispose();
            }
        }

        var describing = admin.DescribeTopicsAsync(TopicCollection.OfTopicNames(topics), new DescribeTopicsOptions { RequestTimeout = timeout });
        _ = describing.ContinueWith(_ => DisposeOnce(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        await using var stopping = cancellationToken.Register(() => Task.Run(DisposeOnce)).ConfigureAwait(false);
        List<TopicDescription> described;
        try
        {
            described = (await describing.WaitAsync(cancellationToken).ConfigureAwait(false)).TopicDescriptions;
        }
        catch (DescribeTopicsException e)
        {
            // Some topic could not be described (it is gone, say): the others' ids stand.
            described = e.Results.TopicDescriptions;
        }

        return described
            .Where(d => !d.Error.IsError && d.TopicId is { } id && (id.MostSignificantBits != 0 || id.LeastSignificantBits != 0))
            .ToDictionary(d => d.Name, d => d.TopicId.ToString(), StringComparer.Ordinal);
    }
}
