using System.Data.Common;
using System.Text.Json;
using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Silo.Storage;

namespace Hearth.Tests.Infrastructure;

/// <summary>
/// A database as the retired Hearth runtime left it: its tables (the schema of its first migration, as it
/// shipped), thermostat states in its JSON, and the per-partition offsets written with them.
/// </summary>
public sealed class RetiredRuntimeDatabase(string provider, string connectionString)
{
    private static readonly string[] Schema =
    [
        """
        CREATE TABLE hearth_grain_state (
            grain_type VARCHAR(100) NOT NULL,
            grain_key VARCHAR(255) NOT NULL,
            partition_id INTEGER NOT NULL,
            state TEXT NOT NULL,
            version BIGINT NOT NULL,
            epoch BIGINT NOT NULL,
            updated_at_ms BIGINT NOT NULL,
            PRIMARY KEY (grain_type, grain_key))
        """,
        """
        CREATE TABLE hearth_partition_offset (
            group_id VARCHAR(255) NOT NULL,
            partition_id INTEGER NOT NULL,
            topic VARCHAR(255) NOT NULL,
            next_offset BIGINT NOT NULL,
            epoch BIGINT NOT NULL,
            updated_at_ms BIGINT NOT NULL,
            PRIMARY KEY (group_id, partition_id, topic))
        """,
        """
        CREATE TABLE hearth_silo (
            group_id VARCHAR(255) NOT NULL,
            silo_name VARCHAR(255) NOT NULL,
            host VARCHAR(255) NOT NULL,
            http_address VARCHAR(255),
            started_at_ms BIGINT NOT NULL,
            status VARCHAR(20) NOT NULL,
            heartbeat_at_ms BIGINT NOT NULL,
            partitions TEXT NOT NULL,
            activations BIGINT NOT NULL,
            stats TEXT,
            PRIMARY KEY (group_id, silo_name))
        """,
    ];

    public async Task CreateAsync()
    {
        foreach (var statement in Schema)
        {
            await ExecuteAsync(statement);
        }
    }

    /// <summary>Stores a thermostat's state as the retired runtime did: its JSON had no format, positions or incarnation.</summary>
    public Task StoreStateAsync(string thermostatId, int partition, ThermostatState state)
    {
        var json = JsonSerializer.SerializeToNode(state, ThermostatStateJsonContext.Default.ThermostatState)!.AsObject();
        json.Remove("format");
        json.Remove("positions");
        json.Remove("incarnation");
        return StoreRawStateAsync(thermostatId, partition, json.ToJsonString());
    }

    public Task StoreRawStateAsync(string thermostatId, int partition, string json) =>
        ExecuteAsync(
            "INSERT INTO hearth_grain_state (grain_type, grain_key, partition_id, state, version, epoch, updated_at_ms) VALUES ('thermostat', @k, @p, @s, 1, 1, 0)",
            ("@k", thermostatId), ("@p", partition), ("@s", json));

    public Task StoreOffsetAsync(string groupId, int partition, string topic, long nextOffset) =>
        ExecuteAsync(
            "INSERT INTO hearth_partition_offset (group_id, partition_id, topic, next_offset, epoch, updated_at_ms) VALUES (@g, @p, @t, @o, 1, 0)",
            ("@g", groupId), ("@p", partition), ("@t", topic), ("@o", nextOffset));

    /// <summary>Records a silo of the retired runtime with its last status (<c>active</c>, <c>shutting-down</c>, <c>dead</c>...).</summary>
    public Task StoreSiloAsync(string groupId, string name, string status) =>
        ExecuteAsync(
            """
            INSERT INTO hearth_silo (group_id, silo_name, host, started_at_ms, status, heartbeat_at_ms, partitions, activations)
            VALUES (@g, @n, 'old-host', 0, @s, 1764547200000, '', 0)
            ON CONFLICT (group_id, silo_name) DO UPDATE SET status = excluded.status
            """,
            ("@g", groupId), ("@n", name), ("@s", status));

    /// <summary>Deletes every stored offset, as the upgrade's error message tells an operator to when they are of another Kafka.</summary>
    public Task DeleteOffsetsAsync() => ExecuteAsync("DELETE FROM hearth_partition_offset");

    /// <summary>The upgrade steps recorded for the service.</summary>
    public async Task<List<string>> UpgradeStepsAsync(string serviceId)
    {
        await using var connection = await OpenAsync();
        await using var command = StorageConnections.Command(connection, null, "SELECT step FROM upgrade_step WHERE service_id = @s", ("@s", serviceId));
        await using var reader = await command.ExecuteReaderAsync();
        var steps = new List<string>();
        while (await reader.ReadAsync())
        {
            steps.Add(reader.GetString(0));
        }

        return steps;
    }

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenAsync();
        await StorageConnections.ExecuteAsync(connection, null, sql, CancellationToken.None, parameters);
    }

    private Task<DbConnection> OpenAsync() =>
        StorageConnections.OpenAsync(new StorageOptions { Provider = provider, ConnectionString = connectionString }, CancellationToken.None);
}
