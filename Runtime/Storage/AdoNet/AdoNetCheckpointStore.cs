using System.Data;
using System.Data.Common;
using Hearth.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hearth.Runtime.Storage.AdoNet;

/// <summary>
/// <see cref="ICheckpointStore"/> over ADO.NET. One schema and one set of SQL statements for every
/// database; a <see cref="SqlDialect"/> supplies connections and the few database-specific settings.
/// </summary>
/// <remarks>
/// Fencing: every write transaction first updates the partition's lease row <c>WHERE epoch = @epoch</c>.
/// A silo that lost the partition finds its epoch gone, writes nothing for it, and is told so. The
/// update also locks the lease row, so a concurrent claim waits for the write to commit and then sees it.
/// </remarks>
public sealed class AdoNetCheckpointStore : ICheckpointStore
{
    private readonly SqlDialect _dialect;
    private readonly TimeProvider _time;
    private readonly ILogger<AdoNetCheckpointStore> _logger;

    public AdoNetCheckpointStore(SqlDialect dialect, TimeProvider time, ILogger<AdoNetCheckpointStore> logger)
    {
        _dialect = dialect;
        _time = time;
        _logger = logger;
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
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

    public async Task<PartitionClaim> ClaimPartitionAsync(string groupId, int partition, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var claim = Command(connection, transaction, """
            INSERT INTO hearth_partition_lease (group_id, partition_id, epoch, owner, claimed_at_ms)
            VALUES (@g, @p, 1, @o, @t)
            ON CONFLICT (group_id, partition_id) DO UPDATE SET
                epoch = hearth_partition_lease.epoch + 1, owner = excluded.owner, claimed_at_ms = excluded.claimed_at_ms
            """))
        {
            Add(claim, "@g", groupId);
            Add(claim, "@p", partition);
            Add(claim, "@o", owner);
            Add(claim, "@t", NowMs());
            await claim.ExecuteNonQueryAsync(cancellationToken);
        }

        long epoch;
        await using (var read = Command(connection, transaction,
            "SELECT epoch FROM hearth_partition_lease WHERE group_id = @g AND partition_id = @p"))
        {
            Add(read, "@g", groupId);
            Add(read, "@p", partition);
            epoch = Convert.ToInt64(await read.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var read = Command(connection, transaction,
            "SELECT topic, next_offset FROM hearth_partition_offset WHERE group_id = @g AND partition_id = @p"))
        {
            Add(read, "@g", groupId);
            Add(read, "@p", partition);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                offsets[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        var marks = new List<ForwardMark>();
        await using (var read = Command(connection, transaction, """
            SELECT topic, source_topic, source_partition, source_offset
            FROM hearth_forward_mark WHERE group_id = @g AND partition_id = @p
            """))
        {
            Add(read, "@g", groupId);
            Add(read, "@p", partition);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                marks.Add(new ForwardMark(reader.GetString(0), partition, reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3)));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new PartitionClaim(partition, epoch, offsets, marks);
    }

    public async Task<StoredGrainState?> ReadGrainStateAsync(string grainType, string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT state, version FROM hearth_grain_state WHERE grain_type = @t AND grain_key = @k");
        Add(command, "@t", grainType);
        Add(command, "@k", key);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SingleRow, cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredGrainState(reader.GetString(0), reader.GetInt64(1))
            : null;
    }

    public async Task<CheckpointWriteResult> WriteCheckpointAsync(
        string groupId, IReadOnlyList<PartitionCheckpoint> checkpoints, CancellationToken cancellationToken)
    {
        var fenced = new List<int>();
        if (checkpoints.Count == 0)
        {
            return new CheckpointWriteResult(fenced);
        }

        var now = NowMs();
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Leases first: they decide what may be written, and lock out concurrent claims until commit.
        var writable = new List<PartitionCheckpoint>(checkpoints.Count);
        await using (var lease = Command(connection, transaction, """
            UPDATE hearth_partition_lease SET checkpoint_at_ms = @t
            WHERE group_id = @g AND partition_id = @p AND epoch = @e
            """))
        {
            var p = Add(lease, "@p", 0);
            var e = Add(lease, "@e", 0L);
            Add(lease, "@g", groupId);
            Add(lease, "@t", now);
            foreach (var checkpoint in checkpoints)
            {
                p.Value = checkpoint.Partition;
                e.Value = checkpoint.Epoch;
                if (await lease.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    writable.Add(checkpoint);
                }
                else
                {
                    fenced.Add(checkpoint.Partition);
                }
            }
        }

        await ExecuteRowsAsync(connection, transaction, """
            INSERT INTO hearth_grain_state (grain_type, grain_key, partition_id, state, version, epoch, updated_at_ms)
            VALUES (@type, @key, @p, @state, @v, @e, @t)
            ON CONFLICT (grain_type, grain_key) DO UPDATE SET
                partition_id = excluded.partition_id, state = excluded.state, version = excluded.version,
                epoch = excluded.epoch, updated_at_ms = excluded.updated_at_ms
            """,
            ["@type", "@key", "@p", "@state", "@v", "@e", "@t"],
            writable.SelectMany(c => c.States.Select(w =>
                new object[] { w.GrainType, w.Key, c.Partition, w.Json, w.Version, c.Epoch, now })),
            cancellationToken);

        await ExecuteRowsAsync(connection, transaction, """
            INSERT INTO hearth_partition_offset (group_id, partition_id, topic, next_offset, epoch, updated_at_ms)
            VALUES (@g, @p, @topic, @o, @e, @t)
            ON CONFLICT (group_id, partition_id, topic) DO UPDATE SET
                next_offset = excluded.next_offset, epoch = excluded.epoch, updated_at_ms = excluded.updated_at_ms
            """,
            ["@g", "@p", "@topic", "@o", "@e", "@t"],
            writable.SelectMany(c => c.Offsets.Select(o =>
                new object[] { groupId, c.Partition, o.Key, o.Value, c.Epoch, now })),
            cancellationToken);

        await ExecuteRowsAsync(connection, transaction, """
            INSERT INTO hearth_forward_mark (group_id, partition_id, topic, source_topic, source_partition, source_offset, epoch)
            VALUES (@g, @p, @topic, @st, @sp, @so, @e)
            ON CONFLICT (group_id, partition_id, topic, source_topic, source_partition) DO UPDATE SET
                source_offset = excluded.source_offset, epoch = excluded.epoch
            """,
            ["@g", "@p", "@topic", "@st", "@sp", "@so", "@e"],
            writable.SelectMany(c => c.ForwardMarks.Select(m =>
                new object[] { groupId, m.Partition, m.Topic, m.SourceTopic, m.SourcePartition, m.SourceOffset, c.Epoch })),
            cancellationToken);

        await transaction.CommitAsync(cancellationToken);
        return new CheckpointWriteResult(fenced);
    }

    public async Task DiscardOffsetsAsync(string groupId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var table in new[] { "hearth_partition_offset", "hearth_forward_mark" })
        {
            await using var command = Command(connection, transaction, $"DELETE FROM {table} WHERE group_id = @g");
            Add(command, "@g", groupId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
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

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static DbParameter Add(DbCommand command, string name, object value)
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
    private static async Task ExecuteRowsAsync(DbConnection connection, DbTransaction transaction, string sql,
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

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
