using System.Data.Common;
using System.Runtime.CompilerServices;

namespace Hearth.Silo.Storage;

/// <summary>
/// Reads what the retired Hearth runtime left in its database: the thermostat states (<c>hearth_grain_state</c>)
/// and, per partition, the next input offset of each input topic (<c>hearth_partition_offset</c>). That runtime
/// wrote a partition's states and offsets in one transaction, so each state is exactly the partition's inputs
/// before those offsets applied.
/// </summary>
public sealed class LegacyStateReader(DbConnection connection, DbTransaction? transaction, bool postgres)
{
    /// <summary>The grain type under which the retired runtime stored thermostat controllers.</summary>
    public const string ThermostatGrainType = "thermostat";

    /// <summary>Whether the database holds the retired runtime's grain states at all.</summary>
    public Task<bool> ExistsAsync(CancellationToken cancellationToken) => TableExistsAsync("hearth_grain_state", cancellationToken);

    /// <summary>Whether the table recording upgrade steps exists (the schema scripts create it).</summary>
    public Task<bool> UpgradeTableExistsAsync(CancellationToken cancellationToken) => TableExistsAsync("upgrade_step", cancellationToken);

    /// <summary>
    /// The next offset to process per partition and input topic, as the consumer group <paramref name="groupId"/>
    /// stored them (none if it stored none, or the table is missing).
    /// </summary>
    public async Task<ILookup<int, LegacyOffset>> ReadOffsetsAsync(string groupId, CancellationToken cancellationToken)
    {
        var offsets = new List<(int Partition, LegacyOffset Offset)>();
        if (await TableExistsAsync("hearth_partition_offset", cancellationToken))
        {
            await using var command = StorageConnections.Command(connection, transaction,
                "SELECT partition_id, topic, next_offset FROM hearth_partition_offset WHERE group_id = @g", ("@g", groupId));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                offsets.Add((reader.GetInt32(0), new LegacyOffset(reader.GetString(1), reader.GetInt64(2))));
            }
        }

        return offsets.ToLookup(o => o.Partition, o => o.Offset);
    }

    /// <summary>
    /// The retired runtime's silos of <paramref name="groupId"/> that did not record a graceful stop: still
    /// running, or stopped without one (a crash, a power loss). A silo it stopped gracefully, or that the others
    /// declared dead, is <c>dead</c> in <c>hearth_silo</c>.
    /// </summary>
    public async Task<IReadOnlyList<LegacySilo>> ReadUnstoppedSilosAsync(string groupId, CancellationToken cancellationToken)
    {
        var silos = new List<LegacySilo>();
        if (await TableExistsAsync("hearth_silo", cancellationToken))
        {
            await using var command = StorageConnections.Command(connection, transaction,
                "SELECT silo_name, status, heartbeat_at_ms FROM hearth_silo WHERE group_id = @g AND status <> 'dead' ORDER BY silo_name", ("@g", groupId));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                silos.Add(new LegacySilo(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
            }
        }

        return silos;
    }

    /// <summary>Every stored thermostat state, streamed in key order.</summary>
    public async IAsyncEnumerable<LegacyState> ReadStatesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = StorageConnections.Command(connection, transaction,
            "SELECT grain_key, partition_id, state FROM hearth_grain_state WHERE grain_type = @t ORDER BY grain_key", ("@t", ThermostatGrainType));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new LegacyState(reader.GetString(0), reader.GetInt32(1), reader.GetString(2));
        }
    }

    private async Task<bool> TableExistsAsync(string table, CancellationToken cancellationToken)
    {
        await using var command = StorageConnections.Command(connection, transaction, postgres
            ? "SELECT to_regclass(@table) IS NOT NULL"
            : "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = @table)",
            ("@table", table));
        return Convert.ToBoolean(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The next offset of <paramref name="Topic"/> to process in a partition, as the retired runtime stored it.</summary>
public readonly record struct LegacyOffset(string Topic, long NextOffset);

/// <summary>One thermostat's state as the retired runtime stored it (its JSON, and the partition it belonged to).</summary>
public sealed record LegacyState(string ThermostatId, int Partition, string Json);

/// <summary>A silo of the retired runtime as its membership table last recorded it.</summary>
public sealed record LegacySilo(string Name, string Status, DateTimeOffset LastHeartbeat);
