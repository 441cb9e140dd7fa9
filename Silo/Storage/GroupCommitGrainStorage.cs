using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Orleans.Storage;

namespace Hearth.Silo.Storage;

/// <summary>
/// Grain state in a relational database, with group commit: every read, write and clear goes to one queue, and one
/// worker takes whatever has queued up and runs it in a single transaction, one commit for all.
/// </summary>
/// <remarks>
/// <para>Grain writes from many activations at once would otherwise cost a transaction, a round trip and a commit
/// (a log flush) each; batched, a write costs a share of each.</para>
/// <para>The ETag is the row's version: a write or clear succeeds only at the version its activation last read or
/// wrote (or, with no ETag, only where no row exists) and fails with <see cref="InconsistentStateException"/>
/// otherwise. A batch behaves as if its operations were committed one by one in the order they were queued, so two
/// activations' writes in one batch are fenced as they would be apart; a failing commit fails every operation of its
/// batch, none of which then took effect.</para>
/// </remarks>
public abstract partial class GroupCommitGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    /// <summary>Most operations one transaction takes; more wait for the next.</summary>
    public const int MaxBatch = 1_000;

    private readonly string _name;
    private readonly IGrainStorageSerializer _serializer;
    private readonly ILogger _logger;
    private long _failingSince;
    private int _failedBatches;
    private readonly Channel<Operation> _queue = Channel.CreateUnbounded<Operation>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _worker;

    protected GroupCommitGrainStorage(string name, string serviceId, IGrainStorageSerializer serializer, ILogger<GroupCommitGrainStorage> logger)
    {
        _name = name;
        ServiceId = serviceId;
        _serializer = serializer;
        _logger = logger;
    }

    /// <summary>The Orleans service the states belong to (part of every key).</summary>
    protected string ServiceId { get; }

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        // Open before grains activate and close after the last one wrote on deactivation.
        lifecycle.Subscribe($"{GetType().Name}-{_name}", ServiceLifecycleStage.ApplicationServices,
            _ => { Start(); return Task.CompletedTask; },
            _ => DisposeAsync().AsTask());
    }

    /// <summary>Starts taking operations (the silo lifecycle calls this).</summary>
    public void Start() =>
        _worker ??= Blocking
            ? Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : Task.Run(RunAsync);

    /// <summary>
    /// Whether the database's calls block (the worker then runs on a thread of its own, leaving the thread pool to the
    /// grains) rather than being awaited.
    /// </summary>
    protected abstract bool Blocking { get; }

    /// <summary>Finishes what is queued, then closes the database; operations after this fail.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_worker is { } worker)
        {
            await worker.ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        return Enqueue(new Operation(OperationKind.Read, stateName, grainId, null, null), done =>
        {
            if (done.Payload is { } payload)
            {
                grainState.State = _serializer.Deserialize<T>(new BinaryData(payload))!;
                grainState.RecordExists = true;
            }
            else
            {
                grainState.State = Activator.CreateInstance<T>();
                grainState.RecordExists = false;
            }

            grainState.ETag = done.Version?.ToString(CultureInfo.InvariantCulture);
        });
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var payload = _serializer.Serialize(grainState.State).ToArray();
        return Enqueue(new Operation(OperationKind.Write, stateName, grainId, ParseETag(grainState.ETag), payload), done =>
        {
            grainState.ETag = done.Version!.Value.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        });
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        return Enqueue(new Operation(OperationKind.Clear, stateName, grainId, ParseETag(grainState.ETag), null), done =>
        {
            grainState.ETag = done.Version?.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = false;
            grainState.State = Activator.CreateInstance<T>();
        });
    }

    /// <summary>
    /// Runs <paramref name="batch"/> in one transaction, in order: fills in each operation's outcome (its
    /// <see cref="Operation.Payload"/> and <see cref="Operation.Version"/>, or its <see cref="Operation.Conflict"/>),
    /// or throws, having committed nothing. Runs on the worker, one batch at a time.
    /// </summary>
    protected abstract Task RunBatchAsync(IReadOnlyList<Operation> batch);

    /// <summary>Closes the database once the last batch ran.</summary>
    protected abstract ValueTask CloseAsync();

    /// <summary>The refusal of <paramref name="operation"/>, whose row is at version <paramref name="stored"/> (null: no row).</summary>
    protected static InconsistentStateException Conflict(Operation operation, long? stored)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return new($"The stored state of {operation.GrainId} ({operation.StateName}) is at version {stored?.ToString(CultureInfo.InvariantCulture) ?? "none"}, not the one this activation holds.",
            stored?.ToString(CultureInfo.InvariantCulture),
            operation.Expected?.ToString(CultureInfo.InvariantCulture));
    }

    private static long? ParseETag(string? etag) =>
        etag is null ? null : long.Parse(etag, CultureInfo.InvariantCulture);

    private async Task Enqueue(Operation operation, Action<Operation> apply)
    {
        if (!_queue.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(GetType().Name, $"Grain storage '{_name}' is closed.");
        }

        await operation.Completion.Task.ConfigureAwait(false);
        apply(operation);
    }

    /// <summary>The worker: one transaction per batch of queued operations until the queue completes.</summary>
    private async Task RunAsync()
    {
        try
        {
            var batch = new List<Operation>(MaxBatch);
            while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                Take(batch);
                await RunAndCompleteAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        finally
        {
            await CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The worker of a database whose calls block, on its own thread.</summary>
    private void Run()
    {
        try
        {
            var batch = new List<Operation>(MaxBatch);
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                Take(batch);
                RunAndCompleteAsync(batch).GetAwaiter().GetResult();
                batch.Clear();
            }
        }
        finally
        {
            CloseAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void Take(List<Operation> batch)
    {
        while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var operation))
        {
            batch.Add(operation);
        }
    }

    private async Task RunAndCompleteAsync(List<Operation> batch)
    {
        try
        {
            await RunBatchAsync(batch).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Rolled back: nothing of this batch took effect. Each caller sees the failure (a grain deactivates and
            // its input is delivered again).
            NoteFailure(batch.Count, e);
            foreach (var operation in batch)
            {
                operation.Completion.TrySetException(e);
            }

            return;
        }

        NoteSuccess(batch);
        foreach (var operation in batch)
        {
            if (operation.Conflict is { } conflict)
            {
                operation.Completion.TrySetException(conflict);
            }
            else
            {
                operation.Completion.TrySetResult();
            }
        }
    }

    // An outage fails every transaction until the database is back: it is logged when it starts and when it ends, each
    // failed transaction in between only at Debug.
    private void NoteFailure(int count, Exception exception)
    {
        if (_failedBatches++ == 0)
        {
            _failingSince = Stopwatch.GetTimestamp();
            LogOutage(_logger, _name, count, exception);
        }
        else
        {
            LogBatchFailed(_logger, _name, count, exception);
        }
    }

    private void NoteSuccess(List<Operation> batch)
    {
        // A database that serves reads may still refuse writes (a lock, a full disk): the outage ends with a write.
        if (_failedBatches == 0 || batch.TrueForAll(operation => operation.Kind == OperationKind.Read))
        {
            return;
        }

        LogRecovered(_logger, _name, _failedBatches, (long)Stopwatch.GetElapsedTime(_failingSince).TotalSeconds);
        _failedBatches = 0;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain storage {Name}: a transaction of {Count} operations failed and was rolled back; the grains concerned retry until the database takes their writes")]
    private static partial void LogOutage(ILogger logger, string name, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Grain storage {Name}: a transaction of {Count} operations failed again")]
    private static partial void LogBatchFailed(ILogger logger, string name, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Grain storage {Name}: transactions commit again, after {Failed} failed over {Seconds} s")]
    private static partial void LogRecovered(ILogger logger, string name, int failed, long seconds);

    protected enum OperationKind
    {
        Read,
        Write,
        Clear,
    }

    /// <summary>One queued operation; the worker fills in the outcome before completing it.</summary>
    protected sealed class Operation(OperationKind kind, string stateName, GrainId grainId, long? expected, byte[]? payload)
    {
        public OperationKind Kind { get; } = kind;

        public string StateName { get; } = stateName;

        public string GrainType { get; } = grainId.Type.ToString()!;

        public string GrainKey { get; } = grainId.Key.ToString()!;

        public GrainId GrainId { get; } = grainId;

        /// <summary>The version the caller last saw (its ETag), null if it saw no row.</summary>
        public long? Expected { get; } = expected;

        /// <summary>For a write, the new payload; after a read, the stored one (null: none).</summary>
        public byte[]? Payload { get; set; } = payload;

        /// <summary>After the operation, the row's version (null: no row).</summary>
        public long? Version { get; set; }

        public InconsistentStateException? Conflict { get; set; }

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
