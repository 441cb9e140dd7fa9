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
    public async Task<bool> ExistsAsync(CancellationToken cancellationToken) =>
        await ScalarAsync(postgres
            ? "SELECT to_regclass('hearth_grain_state') IS NOT NULL"
            : "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hearth_grain_state')",
            cancellationToken);

    /// <summary>Whether the table recording upgrade steps exists (the schema scripts create it).</summary>
    public async Task<bool> UpgradeTableExistsAsync(CancellationToken cancellationToken) =>
        await ScalarAsync(postgres
            ? "SELECT to_regclass('upgrade_step') IS NOT NULL"
            : "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'upgrade_step')",
            cancellationToken);

    /// <summary>
    /// The next offset to process per partition and input topic, as the consumer group <paramref name="groupId"/>
    /// stored them (empty if it stored none, or the table is missing).
    /// </summary>
    public async Task<IReadOnlyDictionary<int, IReadOnlyList<LegacyOffset>>> ReadOffsetsAsync(string groupId, CancellationToken cancellationToken)
    {
        var offsets = new Dictionary<int, List<LegacyOffset>>();
        if (!await ScalarAsync(postgres
            ? "SELECT to_regclass('hearth_partition_offset') IS NOT NULL"
            : "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hearth_partition_offset')",
            cancellationToken))
        {
            return new Dictionary<int, IReadOnlyList<LegacyOffset>>();
        }

        await using var command = Command("SELECT partition_id, topic, next_offset FROM hearth_partition_offset WHERE group_id = @g");
        Add(command, "@g", groupId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var partition = reader.GetInt32(0);
            if (!offsets.TryGetValue(partition, out var list))
            {
                offsets[partition] = list = [];
            }

            list.Add(new LegacyOffset(reader.GetString(1), reader.GetInt64(2)));
        }

        return offsets.ToDictionary(p => p.Key, p => (IReadOnlyList<LegacyOffset>)p.Value);
    }

    /// <summary>Every stored thermostat state, streamed in key order.</summary>
    public async IAsyncEnumerable<LegacyState> ReadStatesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = Command(
            "SELECT grain_key, partition_id, state FROM hearth_grain_state WHERE grain_type = @t ORDER BY grain_key");
        Add(command, "@t", ThermostatGrainType);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new LegacyState(reader.GetString(0), reader.GetInt32(1), reader.GetString(2));
        }
    }

    private async Task<bool> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(sql);
        return Convert.ToBoolean(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private DbCommand Command(string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}

/// <summary>The next offset of <paramref name="Topic"/> to process in a partition, as the retired runtime stored it.</summary>
public readonly record struct LegacyOffset(string Topic, long NextOffset);

/// <summary>One thermostat's state as the retired runtime stored it (its JSON, and the partition it belonged to).</summary>
public sealed record LegacyState(string ThermostatId, int Partition, string Json);
