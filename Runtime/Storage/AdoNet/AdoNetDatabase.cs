using System.Data.Common;
using Hearth.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hearth.Runtime.Storage.AdoNet;

/// <summary>
/// A relational database reached through ADO.NET: connections from the <see cref="SqlDialect"/>, the
/// versioned schema, and the few helpers every table's code shares.
/// </summary>
public sealed class AdoNetDatabase
{
    private readonly SqlDialect _dialect;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AdoNetDatabase(SqlDialect dialect, TimeProvider time, ILogger<AdoNetDatabase> logger)
    {
        _dialect = dialect;
        _time = time;
        _logger = logger;
    }

    public SqlDialect Dialect => _dialect;

    /// <summary>Creates or migrates the schema. Safe to call from several silos at once.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await _dialect.OnInitializingAsync(connection, cancellationToken);

        // One transaction, serialised between silos starting together, creates the version table too.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await _dialect.LockForMigrationAsync(connection, transaction, cancellationToken);
        await ExecuteAsync(connection, transaction, SchemaMigrations.VersionTable, cancellationToken);
        var applied = new HashSet<int>();
        await using (var command = Command(connection, transaction, "SELECT version FROM hearth_schema_version"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var known = SchemaMigrations.All.Max(m => m.Version);
        if (applied.Count > 0 && applied.Max() > known)
        {
            throw new InvalidOperationException(
                $"The database schema is at version {applied.Max()}, newer than this silo knows ({known}). Upgrade the silo.");
        }

        foreach (var migration in SchemaMigrations.All.Where(m => !applied.Contains(m.Version)))
        {
            foreach (var statement in migration.Statements)
            {
                await ExecuteAsync(connection, transaction, statement, cancellationToken);
            }

            await using var record = Command(connection, transaction,
                "INSERT INTO hearth_schema_version (version, description, applied_at_ms) VALUES (@v, @d, @t)");
            Add(record, "@v", migration.Version);
            Add(record, "@d", migration.Description);
            Add(record, "@t", NowMs());
            await record.ExecuteNonQueryAsync(cancellationToken);
            Log.SchemaMigrated(_logger, _dialect.Name, migration.Version, migration.Description);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Whether the database answers a trivial query.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "SELECT 1", cancellationToken);
    }

    /// <summary>An open connection with the dialect's session settings.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = _dialect.CreateConnection();
        try
        {
            await connection.OpenAsync(cancellationToken);
            await _dialect.OnOpenedAsync(connection, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    public static DbParameter Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter;
    }

    /// <summary>
    /// Runs one statement for many rows: as batches of <see cref="BatchSize"/> round trips' worth where the
    /// provider supports ADO.NET batching (PostgreSQL), else as one prepared command re-executed (SQLite,
    /// in-process, where a round trip costs nothing).
    /// </summary>
    public static async Task ExecuteRowsAsync(DbConnection connection, DbTransaction transaction, string sql,
        string[] names, IEnumerable<object[]> rows, CancellationToken cancellationToken)
    {
        if (connection.CanCreateBatch)
        {
            DbBatch? batch = null;
            try
            {
                foreach (var row in rows)
                {
                    if (batch is null)
                    {
                        batch = connection.CreateBatch();
                        batch.Transaction = transaction;
                    }

                    var command = batch.CreateBatchCommand();
                    command.CommandText = sql;
                    for (var i = 0; i < names.Length; i++)
                    {
                        var parameter = command.CreateParameter();
                        parameter.ParameterName = names[i];
                        parameter.Value = row[i];
                        command.Parameters.Add(parameter);
                    }

                    batch.BatchCommands.Add(command);
                    if (batch.BatchCommands.Count == BatchSize)
                    {
                        await batch.ExecuteNonQueryAsync(cancellationToken);
                        await batch.DisposeAsync();
                        batch = null;
                    }
                }

                if (batch is not null)
                {
                    await batch.ExecuteNonQueryAsync(cancellationToken);
                }
            }
            finally
            {
                if (batch is not null)
                {
                    await batch.DisposeAsync();
                }
            }

            return;
        }

        await using var prepared = Command(connection, transaction, sql);
        var parameters = names.Select(n => Add(prepared, n, DBNull.Value)).ToArray();
        var isPrepared = false;
        foreach (var row in rows)
        {
            for (var i = 0; i < parameters.Length; i++)
            {
                parameters[i].Value = row[i];
            }

            if (!isPrepared)
            {
                await prepared.PrepareAsync(cancellationToken);
                isPrepared = true;
            }

            await prepared.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private const int BatchSize = 500;

    public static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
