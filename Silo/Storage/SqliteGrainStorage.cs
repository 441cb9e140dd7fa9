using Microsoft.Data.Sqlite;
using Orleans.Storage;

namespace Hearth.Silo.Storage;

/// <summary>
/// Grain state in a SQLite database, with group commit (<see cref="GroupCommitGrainStorage"/>): one connection runs
/// whatever has queued up in a single transaction.
/// </summary>
/// <remarks>
/// <para>SQLite has one writer per database, so grain writes from many activations at once would otherwise queue for
/// its lock one transaction each (Orleans' ADO.NET provider on SQLite, measured with <c>./bench.sh</c>: about 1,000
/// writes/s, most of the time in Microsoft.Data.Sqlite's busy retries). Batched, a write costs an indexed statement
/// and a share of one commit.</para>
/// <para>Durability: the database is in write-ahead-log mode (the schema installer sets it) with
/// <c>synchronous=FULL</c>: each commit is flushed to disk before the operations of its batch complete, so a state a
/// grain was told is written survives a power loss as well as a crash, as the partition's checkpoint in Kafka assumes.
/// One flush per batch, not per write.</para>
/// </remarks>
public sealed class SqliteGrainStorage(string name, string connectionString, string serviceId, IGrainStorageSerializer serializer, ILogger<GroupCommitGrainStorage> logger)
    : GroupCommitGrainStorage(name, serviceId, serializer, logger)
{
    private SqliteConnection? _connection;
    private Statements? _statements;

    protected override bool Blocking => true;

    protected override Task RunBatchAsync(IReadOnlyList<Operation> batch)
    {
        if (_connection is null)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            using var pragma = _connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous=FULL";
            pragma.ExecuteNonQuery();
            _statements = new Statements(_connection);
        }

        using (var transaction = _connection.BeginTransaction())
        {
            _statements!.Enlist(transaction);
            foreach (var operation in batch)
            {
                _statements.Run(ServiceId, operation);
            }

            transaction.Commit();
        }

        return Task.CompletedTask;
    }

    protected override ValueTask CloseAsync()
    {
        _statements?.Dispose();
        _connection?.Dispose();
        return ValueTask.CompletedTask;
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
