using System.Data;

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
    private readonly AdoNetDatabase _db;
    private readonly TimeProvider _time;

    public AdoNetCheckpointStore(AdoNetDatabase database, TimeProvider time)
    {
        _db = database;
        _time = time;
    }

    public Task InitializeAsync(CancellationToken cancellationToken) => _db.MigrateAsync(cancellationToken);

    public async Task<PartitionClaim> ClaimPartitionAsync(string groupId, int partition, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        long epoch;
        await using (var claim = AdoNetDatabase.Command(connection, transaction, """
            INSERT INTO hearth_partition_lease (group_id, partition_id, epoch, owner, claimed_at_ms)
            VALUES (@g, @p, 1, @o, @t)
            ON CONFLICT (group_id, partition_id) DO UPDATE SET
                epoch = hearth_partition_lease.epoch + 1, owner = excluded.owner, claimed_at_ms = excluded.claimed_at_ms
            RETURNING epoch
            """))
        {
            AdoNetDatabase.Add(claim, "@g", groupId);
            AdoNetDatabase.Add(claim, "@p", partition);
            AdoNetDatabase.Add(claim, "@o", owner);
            AdoNetDatabase.Add(claim, "@t", NowMs());
            epoch = Convert.ToInt64(await claim.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        var offsets = new Dictionary<string, long>(StringComparer.Ordinal);
        await using (var read = AdoNetDatabase.Command(connection, transaction,
            "SELECT topic, next_offset FROM hearth_partition_offset WHERE group_id = @g AND partition_id = @p"))
        {
            AdoNetDatabase.Add(read, "@g", groupId);
            AdoNetDatabase.Add(read, "@p", partition);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                offsets[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        var marks = new List<ForwardMark>();
        await using (var read = AdoNetDatabase.Command(connection, transaction, """
            SELECT topic, source_topic, source_partition, source_offset
            FROM hearth_forward_mark WHERE group_id = @g AND partition_id = @p
            """))
        {
            AdoNetDatabase.Add(read, "@g", groupId);
            AdoNetDatabase.Add(read, "@p", partition);
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
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var command = AdoNetDatabase.Command(connection, null,
            "SELECT state, version FROM hearth_grain_state WHERE grain_type = @t AND grain_key = @k");
        AdoNetDatabase.Add(command, "@t", grainType);
        AdoNetDatabase.Add(command, "@k", key);
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
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Leases first: they decide what may be written, and lock out concurrent claims until commit.
        var writable = new List<PartitionCheckpoint>(checkpoints.Count);
        await using (var lease = AdoNetDatabase.Command(connection, transaction, """
            UPDATE hearth_partition_lease SET checkpoint_at_ms = @t
            WHERE group_id = @g AND partition_id = @p AND epoch = @e
            """))
        {
            var p = AdoNetDatabase.Add(lease, "@p", 0);
            var e = AdoNetDatabase.Add(lease, "@e", 0L);
            AdoNetDatabase.Add(lease, "@g", groupId);
            AdoNetDatabase.Add(lease, "@t", now);
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

        await AdoNetDatabase.ExecuteRowsAsync(connection, transaction, """
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

        await AdoNetDatabase.ExecuteRowsAsync(connection, transaction, """
            INSERT INTO hearth_partition_offset (group_id, partition_id, topic, next_offset, epoch, updated_at_ms)
            VALUES (@g, @p, @topic, @o, @e, @t)
            ON CONFLICT (group_id, partition_id, topic) DO UPDATE SET
                next_offset = excluded.next_offset, epoch = excluded.epoch, updated_at_ms = excluded.updated_at_ms
            """,
            ["@g", "@p", "@topic", "@o", "@e", "@t"],
            writable.SelectMany(c => c.Offsets.Select(o =>
                new object[] { groupId, c.Partition, o.Key, o.Value, c.Epoch, now })),
            cancellationToken);

        await AdoNetDatabase.ExecuteRowsAsync(connection, transaction, """
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
        await using var connection = await _db.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var table in new[] { "hearth_partition_offset", "hearth_forward_mark" })
        {
            await using var command = AdoNetDatabase.Command(connection, transaction, $"DELETE FROM {table} WHERE group_id = @g");
            AdoNetDatabase.Add(command, "@g", groupId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
