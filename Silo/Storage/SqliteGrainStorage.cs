using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace Hearth.Silo.Storage;

/// <summary>
/// Grain state in a SQLite database, with group commit: every read, write and clear goes to one queue, and
/// one connection takes whatever has queued up and runs it in a single transaction, one commit for all.
/// </summary>
/// <remarks>
/// <para>SQLite has one writer per database, so grain writes from many activations at once would otherwise
/// queue for its lock one transaction each (Orleans' ADO.NET provider on SQLite, measured with
/// <c>./bench.sh</c>: about 1,000 writes/s, most of the time in Microsoft.Data.Sqlite's busy retries).
/// Batched, a write costs an indexed statement and a share of one commit.</para>
/// <para>The ETag is the row's version, as with Orleans' ADO.NET provider: a write or clear succeeds only at
/// the version its activation last read or wrote (or, with no ETag, only where no row exists) and fails with
/// <see cref="InconsistentStateException"/> otherwise. Operations run in the order they were queued, so two
/// activations' writes in one batch are fenced as if committed one by one; a failing commit fails every
/// operation of its batch, none of which then took effect.</para>
/// <para>Durability: the database is in write-ahead-log mode (the schema installer sets it) with
/// <c>synchronous=NORMAL</c>, so a commit survives a crash of the process, and only a power loss can take
/// the last commits.</para>
/// </remarks>
public sealed partial class SqliteGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    /// <summary>Most operations one transaction takes; more wait for the next.</summary>
    public const int MaxBatch = 1_000;

    private readonly string _name;
    private readonly string _connectionString;
    private readonly string _serviceId;
    private readonly IGrainStorageSerializer _serializer;
    private readonly ILogger _logger;
    private readonly Channel<Operation> _queue = Channel.CreateUnbounded<Operation>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _worker;

    public SqliteGrainStorage(string name, string connectionString, string serviceId, IGrainStorageSerializer serializer, ILogger<SqliteGrainStorage> logger)
    {
        _name = name;
        _connectionString = connectionString;
        _serviceId = serviceId;
        _serializer = serializer;
        _logger = logger;
    }

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        // Open before grains activate and close after the last one wrote on deactivation.
        lifecycle.Subscribe($"{nameof(SqliteGrainStorage)}-{_name}", ServiceLifecycleStage.ApplicationServices,
            _ => { Start(); return Task.CompletedTask; },
            _ => DisposeAsync().AsTask());
    }

    /// <summary>Opens the database and starts taking operations (the silo lifecycle calls this).</summary>
    public void Start()
    {
        if (_worker is not null)
        {
            return;
        }

        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA synchronous=NORMAL");
        _worker = Task.Factory.StartNew(() => Run(connection), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Finishes what is queued, then closes the database; operations after this fail.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_worker is { } worker)
        {
            await worker.ConfigureAwait(false);
        }
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

            grainState.ETag = done.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var payload = _serializer.Serialize(grainState.State).ToArray();
        return Enqueue(new Operation(OperationKind.Write, stateName, grainId, ParseETag(grainState.ETag), payload), done =>
        {
            grainState.ETag = done.Version!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        });
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        return Enqueue(new Operation(OperationKind.Clear, stateName, grainId, ParseETag(grainState.ETag), null), done =>
        {
            grainState.ETag = done.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = false;
            grainState.State = Activator.CreateInstance<T>();
        });
    }

    private static long? ParseETag(string? etag) =>
        etag is null ? null : long.Parse(etag, System.Globalization.CultureInfo.InvariantCulture);

    private async Task Enqueue(Operation operation, Action<Operation> apply)
    {
        if (!_queue.Writer.TryWrite(operation))
        {
            throw new ObjectDisposedException(nameof(SqliteGrainStorage), $"Grain storage '{_name}' is closed.");
        }

        await operation.Completion.Task.ConfigureAwait(false);
        apply(operation);
    }

    /// <summary>The worker: one transaction per batch of queued operations until the queue completes.</summary>
    private void Run(SqliteConnection connection)
    {
        using (connection)
        using (var statements = new Statements(connection))
        {
            var batch = new List<Operation>(MaxBatch);
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var operation))
                {
                    batch.Add(operation);
                }

                RunBatch(connection, statements, batch);
                batch.Clear();
            }
        }
    }

    private void RunBatch(SqliteConnection connection, Statements statements, List<Operation> batch)
    {
        try
        {
            using (var transaction = connection.BeginTransaction())
            {
                statements.Enlist(transaction);
                foreach (var operation in batch)
                {
                    statements.Run(_serviceId, operation);
                }

                transaction.Commit();
            }

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
        catch (Exception e)
        {
            // Rolled back: nothing of this batch took effect. Each caller sees the failure (a grain deactivates and
            // its input is delivered again).
            LogBatchFailed(_logger, _name, batch.Count, e);
            foreach (var operation in batch)
            {
                operation.Completion.TrySetException(e);
            }
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain storage {Name}: a transaction of {Count} operations failed and was rolled back; the grains concerned retry")]
    private static partial void LogBatchFailed(ILogger logger, string name, int count, Exception exception);

    private enum OperationKind
    {
        Read,
        Write,
        Clear,
    }

    /// <summary>One queued operation; the worker fills in the outcome before completing it.</summary>
    private sealed class Operation(OperationKind kind, string stateName, GrainId grainId, long? expected, byte[]? payload)
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

    /// <summary>The prepared statements of the worker's connection.</summary>
    private sealed class Statements : IDisposable
    {
        private const string Key = "service_id = $service AND state_name = $state AND grain_type = $type AND grain_key = $key";

        private readonly SqliteCommand _read;
        private readonly SqliteCommand _insert;
        private readonly SqliteCommand _update;
        private readonly SqliteCommand _clear;

        public Statements(SqliteConnection connection)
        {
            _read = Prepare(connection, $"SELECT payload, version FROM grain_state WHERE {Key}");
            _insert = Prepare(connection,
                "INSERT INTO grain_state (service_id, state_name, grain_type, grain_key, payload, version) " +
                "VALUES ($service, $state, $type, $key, $payload, 1) ON CONFLICT DO NOTHING RETURNING version", payload: true);
            _update = Prepare(connection,
                $"UPDATE grain_state SET payload = $payload, version = version + 1, modified_at = CURRENT_TIMESTAMP " +
                $"WHERE {Key} AND version = $expected RETURNING version", payload: true, expected: true);
            _clear = Prepare(connection,
                $"UPDATE grain_state SET payload = NULL, version = version + 1, modified_at = CURRENT_TIMESTAMP " +
                $"WHERE {Key} AND version = $expected RETURNING version", expected: true);
        }

        public void Enlist(SqliteTransaction transaction)
        {
            _read.Transaction = transaction;
            _insert.Transaction = transaction;
            _update.Transaction = transaction;
            _clear.Transaction = transaction;
        }

        public void Run(string serviceId, Operation operation)
        {
            switch (operation.Kind)
            {
                case OperationKind.Read:
                    (operation.Payload, operation.Version) = Read(serviceId, operation);
                    break;
                case OperationKind.Write:
                    Change(serviceId, operation, operation.Expected is null ? _insert : _update);
                    break;
                case OperationKind.Clear when operation.Expected is null:
                    // Never stored as far as the caller knows: fine if that is still so.
                    var (_, version) = Read(serviceId, operation);
                    operation.Conflict = version is null ? null : Conflict(operation, version);
                    break;
                case OperationKind.Clear:
                    Change(serviceId, operation, _clear);
                    break;
            }
        }

        public void Dispose()
        {
            _read.Dispose();
            _insert.Dispose();
            _update.Dispose();
            _clear.Dispose();
        }

        private (byte[]? Payload, long? Version) Read(string serviceId, Operation operation)
        {
            Bind(_read, serviceId, operation);
            using var reader = _read.ExecuteReader();
            return reader.Read()
                ? (reader.IsDBNull(0) ? null : (byte[])reader.GetValue(0), reader.GetInt64(1))
                : (null, null);
        }

        private void Change(string serviceId, Operation operation, SqliteCommand command)
        {
            Bind(command, serviceId, operation);
            if (command.ExecuteScalar() is long version)
            {
                operation.Version = version;
                return;
            }

            operation.Conflict = Conflict(operation, Read(serviceId, operation).Version);
        }

        private static InconsistentStateException Conflict(Operation operation, long? stored) =>
            new($"The stored state of {operation.GrainId} ({operation.StateName}) is at version {stored?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, not the one this activation holds.",
                stored?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                operation.Expected?.ToString(System.Globalization.CultureInfo.InvariantCulture));

        private static void Bind(SqliteCommand command, string serviceId, Operation operation)
        {
            command.Parameters["$service"].Value = serviceId;
            command.Parameters["$state"].Value = operation.StateName;
            command.Parameters["$type"].Value = operation.GrainType;
            command.Parameters["$key"].Value = operation.GrainKey;
            if (command.Parameters.Contains("$payload"))
            {
                command.Parameters["$payload"].Value = operation.Payload;
            }

            if (command.Parameters.Contains("$expected"))
            {
                command.Parameters["$expected"].Value = operation.Expected ?? (object)DBNull.Value;
            }
        }

        private static SqliteCommand Prepare(SqliteConnection connection, string sql, bool payload = false, bool expected = false)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.Add("$service", SqliteType.Text);
            command.Parameters.Add("$state", SqliteType.Text);
            command.Parameters.Add("$type", SqliteType.Text);
            command.Parameters.Add("$key", SqliteType.Text);
            if (payload)
            {
                command.Parameters.Add("$payload", SqliteType.Blob);
            }

            if (expected)
            {
                command.Parameters.Add("$expected", SqliteType.Integer);
            }

            return command;
        }
    }
}
