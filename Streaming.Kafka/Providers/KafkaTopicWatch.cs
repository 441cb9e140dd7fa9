using System.Collections.Concurrent;
using Hearth.Streaming.Kafka.Hosting;
using Microsoft.Extensions.Logging;

namespace Hearth.Streaming.Kafka.Providers;

/// <summary>
/// What a provider knows of its input topics, kept current while the silo runs: their partitions (a queue each, in
/// <see cref="Mapper"/>) and the life of each topic that its offsets count in (<see cref="LogOf"/>). Read when the
/// provider starts and every <see cref="KafkaStreamOptions.TopicRefreshInterval"/> after, so that partitions added to a
/// live topic are pulled, and a topic deleted and created again under its name is told from its old self, within that
/// period and without a restart.
/// </summary>
/// <remarks>
/// <para>A topic's life is its Kafka topic id. Where Kafka gives none (a broker before Kafka 2.8; the embedded broker,
/// which answers no request that needs a controller) it is <see cref="KafkaStreamOptions.LogIncarnation"/>, which tells a
/// development broker's restarts apart and is empty for a Kafka cluster.</para>
/// <para>The ids are read in the background, one request at a time: a broker that never answers holds up neither the
/// start nor the partitions' refresh. Until they are known, and for a topic whose id a later read lacks, the last life
/// known stands.</para>
/// </remarks>
internal sealed partial class KafkaTopicWatch : IDisposable
{
    private readonly string _provider;
    private readonly KafkaStreamOptions _options;
    private readonly IKafkaTopicMetadata _metadata;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, string> _ids = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private Task? _reading;
    private Task? _readingNext;
    private bool _told;
    private KafkaQueueMapper? _mapper;

    public KafkaTopicWatch(string provider, KafkaStreamOptions options, IKafkaTopicMetadata metadata, TimeProvider time, ILogger logger)
    {
        _provider = provider;
        _options = options;
        _metadata = metadata;
        _time = time;
        _logger = logger;
    }

    /// <summary>The queues of the topics' partitions known now; it grows as partitions are added.</summary>
    public KafkaQueueMapper Mapper => _mapper ?? throw new InvalidOperationException("The Kafka stream provider has not read its topics yet.");

    /// <summary>The input topics with their partition counts; empty before <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<(string Topic, int Partitions)> Topics => _mapper?.Topics ?? [];

    /// <summary>
    /// Reads the topics' partitions (every topic must exist), then goes on reading them, and their ids, in the
    /// background until disposed.
    /// </summary>
    /// <exception cref="KafkaTopicNotFoundException">An input topic does not exist.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var topics = await _metadata.ReadPartitionsAsync([.. _options.Topics], _options.MetadataTimeout, cancellationToken).ConfigureAwait(false);
        _mapper = new KafkaQueueMapper(topics, _options.TopicOf);
        _ = ReadIds(afterTheCurrentRead: false);
        _ = RefreshPeriodicallyAsync(_stop.Token);
    }

    /// <summary>
    /// The life of <paramref name="topic"/> that messages read from it now belong to: its topic id, or the log
    /// incarnation where Kafka has given none. The same string for as long as the life lasts.
    /// </summary>
    public string LogOf(string topic) => _ids.TryGetValue(topic, out var id) ? id : _options.LogIncarnation;

    /// <summary>
    /// Reads the topics' ids again, in a request that starts after this call, and completes once it has (failed or
    /// not); at once where Kafka has never given ids, as nothing would tell a new life then. For a receiver whose
    /// partition's offsets went back: the topic may have been created again.
    /// </summary>
    public Task ReadLivesAgainAsync() => _ids.IsEmpty ? Task.CompletedTask : ReadIds(afterTheCurrentRead: true);

    public void Dispose() => _stop.Cancel();

    private async Task RefreshPeriodicallyAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.TopicRefreshInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await RefreshPartitionsAsync(cancellationToken).ConfigureAwait(false);
                _ = ReadIds(afterTheCurrentRead: false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposed: the silo is stopping.
        }
    }

    private async Task RefreshPartitionsAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Topic, int Partitions)> read;
        try
        {
            read = await _metadata.ReadPartitionsAsync([.. _options.Topics], _options.MetadataTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogRefreshFailed(_logger, _provider, e.Message, _options.TopicRefreshInterval);
            return;
        }

        var before = Mapper.Topics;
        if (Mapper.Grow(read).Count == 0)
        {
            return;
        }

        foreach (var (topic, partitions) in Mapper.Topics)
        {
            var was = before.FirstOrDefault(t => string.Equals(t.Topic, topic, StringComparison.Ordinal)).Partitions;
            if (partitions > was)
            {
                LogGrew(_logger, topic, was, partitions);
            }
        }
    }

    /// <summary>
    /// Starts a read of the topics' ids, unless one is under way: then that one's task, or with
    /// <paramref name="afterTheCurrentRead"/> a read that starts when it ends (one for every caller meanwhile).
    /// </summary>
    private Task ReadIds(bool afterTheCurrentRead)
    {
        lock (_lock)
        {
            if (_reading is null || _reading.IsCompleted)
            {
                return _reading = ReadIdsAsync();
            }

            if (!afterTheCurrentRead)
            {
                return _reading;
            }

            return _readingNext ??= _reading.ContinueWith(
                _ =>
                {
                    lock (_lock)
                    {
                        _readingNext = null;
                        return _reading = ReadIdsAsync();
                    }
                },
                CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private async Task ReadIdsAsync()
    {
        IReadOnlyDictionary<string, string> ids;
        try
        {
            ids = await _metadata.ReadTopicIdsAsync([.. _options.Topics], _options.MetadataTimeout, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            if (TellOnce())
            {
                LogNoTopicIds(_logger, _provider, e.Message, Named(_options.LogIncarnation));
            }
            else
            {
                LogTopicIdsFailed(_logger, _provider, e.Message);
            }

            return;
        }

        foreach (var topic in _options.Topics)
        {
            if (!ids.TryGetValue(topic, out var id))
            {
                continue;
            }

            var known = _ids.GetValueOrDefault(topic);
            if (known == id)
            {
                continue;
            }

            if (known is null)
            {
                LogTopicId(_logger, topic, id);
            }
            else
            {
                LogRecreated(_logger, topic, known, id);
            }

            _ids[topic] = id;
        }

        if (TellOnce())
        {
            var without = _options.Topics.Where(t => !ids.ContainsKey(t)).ToList();
            if (without.Count == 0)
            {
                LogTopicIds(_logger, _provider);
            }
            else
            {
                LogNoTopicIds(_logger, _provider, $"Kafka gave none for {string.Join(", ", without)}", Named(_options.LogIncarnation));
            }
        }
    }

    private bool TellOnce()
    {
        lock (_lock)
        {
            var first = !_told;
            _told = true;
            return first;
        }
    }

    private static string Named(string incarnation) => incarnation.Length == 0 ? "(none)" : incarnation;

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka stream provider {Provider} tells the lives of its topics apart by their Kafka topic ids: a topic deleted and created again is read as a new one")]
    private static partial void LogTopicIds(ILogger logger, string provider);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka stream provider {Provider} has no Kafka topic ids ({Reason}); its topics' offsets count in log incarnation {Incarnation}, so a topic deleted and created again under its name is not told from its old self")]
    private static partial void LogNoTopicIds(ILogger logger, string provider, string reason, string incarnation);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka topic {Topic} has topic id {TopicId}")]
    private static partial void LogTopicId(ILogger logger, string topic, string topicId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka topic {Topic} was deleted and created again (topic id {Old}, now {New}): its partitions are read again from the new topic's committed offsets or its beginning")]
    private static partial void LogRecreated(ILogger logger, string topic, string old, string @new);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Kafka stream provider {Provider} could not read its topics' ids ({Reason}); the lives known stand")]
    private static partial void LogTopicIdsFailed(ILogger logger, string provider, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Kafka topic {Topic} has {Partitions} partitions now (it had {Was}): the new ones are shared out over the silos")]
    private static partial void LogGrew(ILogger logger, string topic, int was, int partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kafka stream provider {Provider} could not read its topics' metadata ({Reason}); trying again in {Interval}")]
    private static partial void LogRefreshFailed(ILogger logger, string provider, string reason, TimeSpan interval);
}
