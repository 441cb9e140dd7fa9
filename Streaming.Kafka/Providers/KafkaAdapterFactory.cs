using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Hearth.Streaming.Kafka.Caching;
using Hearth.Streaming.Kafka.Committing;
using Hearth.Streaming.Kafka.Diagnostics;
using Hearth.Streaming.Kafka.Hosting;
using Hearth.Streaming.Kafka.Producing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Streams;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// The provider's entry point for Orleans: reads the input topics' partition counts when the silo starts and keeps
/// reading them (<see cref="KafkaTopicWatch"/>), makes one queue per partition, and creates a queue's cache and
/// receiver when Orleans' balancer gives this silo the queue.
/// </summary>
public sealed partial class KafkaAdapterFactory : IQueueAdapterFactory, IQueueAdapterCache, IKafkaStreamStatus, IKafkaDeadLetters, IDisposable
{
    private readonly string _name;
    private readonly KafkaStreamOptions _options;
    private readonly KafkaClients _clients;
    private readonly IKafkaDataAdapter _dataAdapter;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly KafkaStreamMetrics _metrics;
    private readonly KafkaPublisher _publisher;
    private readonly KafkaCheckpointCommitter _committer;
    private readonly ConcurrentDictionary<QueueId, KafkaQueueCache> _caches = new();
    private readonly KafkaCacheBudget _cacheBudget;
    private readonly ConcurrentDictionary<QueueId, KafkaQueueReceiver> _receivers = new();
    private readonly ConcurrentDictionary<TopicPartitionOffset, Task> _consumerDeadLetters = new();
    private readonly KafkaTopicWatch _topics;
    private KafkaQueueAdapter? _adapter;

    public KafkaAdapterFactory(
        string name, KafkaStreamOptions options, IKafkaDataAdapter dataAdapter, IKafkaCheckpointFence fence, ILoggerFactory loggers,
        IMeterFactory meters, TimeProvider time)
        : this(name, options, dataAdapter, fence, loggers, meters, time, null)
    {
    }

    /// <param name="metadata">Where the topics' partitions and ids are read; Kafka itself when null (what a test replaces).</param>
    internal KafkaAdapterFactory(
        string name, KafkaStreamOptions options, IKafkaDataAdapter dataAdapter, IKafkaCheckpointFence fence, ILoggerFactory loggers,
        IMeterFactory meters, TimeProvider time, IKafkaTopicMetadata? metadata)
    {
        ArgumentNullException.ThrowIfNull(options);
        _name = name;
        _options = options;
        _dataAdapter = dataAdapter;
        _loggers = loggers;
        _logger = loggers.CreateLogger<KafkaAdapterFactory>();
        _time = time;
        _clients = new KafkaClients(name, options, loggers);
        _cacheBudget = new KafkaCacheBudget(options.SiloCacheSize);
        _metrics = new KafkaStreamMetrics(meters, Partitions);
        _publisher = new KafkaPublisher(_clients, _metrics, time, loggers.CreateLogger<KafkaPublisher>());
        _committer = new KafkaCheckpointCommitter(
            _clients.CreateCommitter(), fence, TimeSpan.FromMilliseconds(options.CommitIntervalMs), time, loggers.CreateLogger<KafkaCheckpointCommitter>());
        _topics = new KafkaTopicWatch(name, options, metadata ?? new KafkaAdminTopicMetadata(_clients), time, loggers.CreateLogger<KafkaTopicWatch>());
    }

    /// <summary>Creates the factory of provider <paramref name="name"/> from the silo's services (what <c>AddKafkaStreams</c> registers).</summary>
    public static KafkaAdapterFactory Create(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        var dataAdapter = services.GetKeyedService<IKafkaDataAdapter>(name)
            ?? throw new InvalidOperationException($"Kafka stream provider '{name}' has no data adapter; configure one with UseDataAdapter.");
        return new KafkaAdapterFactory(
            name,
            services.GetOptionsByName<KafkaStreamOptions>(name),
            dataAdapter,
            services.GetRequiredService<IKafkaCheckpointFence>(),
            services.GetRequiredService<ILoggerFactory>(),
            services.GetRequiredService<IMeterFactory>(),
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetKeyedService<IKafkaTopicMetadata>(name));
    }

    /// <summary>The provider's producer.</summary>
    public KafkaPublisher Publisher => _publisher;

    /// <summary>The input topics with their partition counts as known now, once the silo has started the provider.</summary>
    public IReadOnlyList<(string Topic, int Partitions)> Topics => _topics.Topics;

    /// <summary>The partitions this silo pulls now.</summary>
    public IReadOnlyList<KafkaPartitionStatus> Partitions() =>
        _receivers.Values.Select(r => r.Status()).OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition).ToList();

    public IReadOnlyList<KafkaPartitionStall> Stalls() => _publisher.Stalls();

    [Obsolete("Orleans calls the overload with a CancellationToken.")]
    public Task<IQueueAdapter> CreateAdapter() => CreateAdapter(CancellationToken.None);

    public async Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken)
    {
        if (_adapter is null)
        {
            await _topics.StartAsync(cancellationToken).ConfigureAwait(false);
            _adapter = new KafkaQueueAdapter(_name, _options, _dataAdapter, _publisher, CreateReceiver);
            LogTopics(_logger, _name, string.Join(", ", Topics.Select(t => $"{t.Topic} ({t.Partitions} partitions)")), _options.GroupId);
        }

        return _adapter;
    }

    public IQueueAdapterCache GetQueueAdapterCache() => this;

    public IStreamQueueMapper GetStreamQueueMapper() => _topics.Mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) =>
        // The cache marks a batch whose delivery failed for good (RecordDeliveryFailure) and the receiver
        // dead-letters it when it is purged; subscriptions are never faulted.
        Task.FromResult<IStreamFailureHandler>(new NoOpStreamDeliveryFailureHandler(false));

    public IQueueCache CreateQueueCache(QueueId queueId)
    {
        var cache = new KafkaQueueCache(queueId, _options.CacheSize, _options.MaxBatchSize, _cacheBudget);
        if (_caches.TryGetValue(queueId, out var replaced))
        {
            // A queue has one pulling agent on a silo at a time: a cache left by one that never released it stops counting.
            replaced.LeaveBudget();
        }

        _caches[queueId] = cache;
        return cache;
    }

    private KafkaQueueReceiver CreateReceiver(QueueId queueId)
    {
        var (topic, partition) = _topics.Mapper.PartitionOf(queueId);
        _caches.TryGetValue(queueId, out var cache);
        var receiver = new KafkaQueueReceiver(
            queueId, new TopicPartition(topic, partition), _clients, _dataAdapter, _publisher, _committer, _metrics, cache, _topics, _time,
            _loggers.CreateLogger<KafkaQueueReceiver>(), Released);
        _receivers[queueId] = receiver;
        return receiver;
    }

    /// <summary>Called by a receiver when it has shut down (a new receiver of the same queue may exist already).</summary>
    private void Released(KafkaQueueReceiver receiver)
    {
        _receivers.TryRemove(new KeyValuePair<QueueId, KafkaQueueReceiver>(receiver.QueueId, receiver));
        if (receiver.Cache is { } cache)
        {
            _caches.TryRemove(new KeyValuePair<QueueId, KafkaQueueCache>(receiver.QueueId, cache));
            cache.LeaveBudget();
        }
    }

    public async Task DeadLetterAsync(string topic, int partition, IReadOnlyList<long> offsets, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        if (offsets.Count == 0)
        {
            return;
        }

        // A consumer that gave up waiting and repeats its delivery waits for the dead letters it asked for already, where
        // Kafka has not taken them yet: a repeat publishes none twice and holds nothing more in memory.
        var source = new TopicPartition(topic, partition);
        var published = new List<Task>(offsets.Count);
        var created = new List<(long Offset, TaskCompletionSource Done)>();
        foreach (var offset in offsets.Distinct())
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var pending = _consumerDeadLetters.GetOrAdd(new TopicPartitionOffset(source, offset), done.Task);
            if (pending == done.Task)
            {
                created.Add((offset, done));
            }

            published.Add(pending);
        }

        if (created.Count > 0)
        {
            await PublishDeadLettersAsync(source, created, reason).ConfigureAwait(false);
        }

        await Task.WhenAll(published).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task PublishDeadLettersAsync(TopicPartition source, List<(long Offset, TaskCompletionSource Done)> letters, string reason)
    {
        Dictionary<long, ConsumeResult<byte[]?, byte[]?>> originals;
        try
        {
            var reader = new KafkaMessageReader(_clients, source, $"{source.Topic}-{source.Partition.Value}-consumer", _time);
            originals = await reader.ReadAsync([.. letters.Select(l => l.Offset).Order()], ReadBackTimeout).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            foreach (var (offset, done) in letters)
            {
                _consumerDeadLetters.TryRemove(new KeyValuePair<TopicPartitionOffset, Task>(new TopicPartitionOffset(source, offset), done.Task));
                done.SetException(e);
            }

            throw;
        }

        foreach (var (offset, done) in letters)
        {
            var position = new TopicPartitionOffset(source, offset);
            var original = originals.TryGetValue(offset, out var found)
                ? found
                : new ConsumeResult<byte[]?, byte[]?> { TopicPartitionOffset = position, Message = new Message<byte[]?, byte[]?>() };
            _metrics.DeadLettered(source.Topic, "consumer");
            _publisher.DeadLetter(_options.DeadLetterTopic, source, original, found is null ? reason + NotReadBack : reason, () =>
            {
                _consumerDeadLetters.TryRemove(new KeyValuePair<TopicPartitionOffset, Task>(position, done.Task));
                done.SetResult();
            });
        }

        foreach (var receiver in _receivers.Values.Where(r => r.TopicPartition == source))
        {
            receiver.CountDeadLettered(letters.Count);
        }
    }

    public void Dispose()
    {
        _topics.Dispose();
        _committer.Dispose();
        _publisher.Dispose();
    }

    /// <summary>How long reading messages back for their dead letters may take before they are dead-lettered without them.</summary>
    private static readonly TimeSpan ReadBackTimeout = TimeSpan.FromSeconds(30);

    private const string NotReadBack = " (the message could not be read back from Kafka for this record: deleted, or Kafka did not answer; key and value are empty)";

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka stream provider {Provider} reads {Topics}; checkpoints are offsets of consumer group {GroupId}")]
    private static partial void LogTopics(ILogger logger, string provider, string topics, string groupId);
}

/// <summary>What a Kafka stream provider is doing on this silo.</summary>
public interface IKafkaStreamStatus
{
    /// <summary>The provider's producer.</summary>
    KafkaPublisher Publisher { get; }

    /// <summary>The input topics with their partition counts as known now (empty until the provider has started; they grow as partitions are added).</summary>
    IReadOnlyList<(string Topic, int Partitions)> Topics { get; }

    /// <summary>The partitions this silo pulls now.</summary>
    IReadOnlyList<KafkaPartitionStatus> Partitions();

    /// <summary>
    /// The input partitions whose checkpoints wait on this silo because Kafka refuses their dead letters (the dead-letter
    /// topic is missing or refuses this client), with why and since when. Each goes on by itself once Kafka takes them.
    /// </summary>
    IReadOnlyList<KafkaPartitionStall> Stalls();
}

/// <summary>Dead-letters input messages on a consumer's behalf: a consumer that finds messages it can never apply.</summary>
public interface IKafkaDeadLetters
{
    /// <summary>
    /// Publishes the messages at <paramref name="offsets"/> of <paramref name="topic"/>[<paramref name="partition"/>] to the
    /// dead-letter topic as they are in Kafka (read back), with <paramref name="reason"/> and their origin in headers, and
    /// completes once Kafka has every one. Consumers call it within their delivery, so the checkpoint passes the messages
    /// only once their dead letters are written. While Kafka refuses them it does not complete (the partition is stalled,
    /// see <see cref="IKafkaStreamStatus.Stalls"/>); called again for messages whose dead letters Kafka has not taken yet
    /// (a delivery repeated after giving up the wait), it waits for those same dead letters.
    /// </summary>
    Task DeadLetterAsync(string topic, int partition, IReadOnlyList<long> offsets, string reason, CancellationToken cancellationToken = default);
}

/// <summary>An input topic the provider was told to read does not exist.</summary>
public sealed class KafkaTopicNotFoundException(string topic, string bootstrapServers)
    : Exception($"Kafka topic '{topic}' does not exist on {bootstrapServers}. Create it (the provider never creates topics).")
{
    public string Topic { get; } = topic;
}
