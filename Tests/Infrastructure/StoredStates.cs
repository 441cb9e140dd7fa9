using System.Data.Common;
using System.Text.Json;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Silo.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Hearth.Tests.Infrastructure;

/// <summary>Grain states as the database holds them, for tests that look inside (the schema of <c>deploy/sql</c>).</summary>
public static class StoredStates
{
    /// <summary>The stored state of thermostat <paramref name="thermostatId"/> in a SQLite file, or null.</summary>
    public static Task<ThermostatState?> ThermostatInSqliteAsync(string path, string thermostatId) =>
        ThermostatAsync(new SqliteConnection($"Data Source={path}"), thermostatId,
            "SELECT payload FROM grain_state WHERE state_name = @type AND grain_key = @key");

    /// <summary>The stored state of thermostat <paramref name="thermostatId"/> in a PostgreSQL database, or null.</summary>
    public static Task<ThermostatState?> ThermostatInPostgresAsync(string connectionString, string thermostatId) =>
        ThermostatAsync(new NpgsqlConnection(connectionString), thermostatId,
            "SELECT payload FROM grain_state WHERE state_name = @type AND grain_key = @key");

    private static async Task<ThermostatState?> ThermostatAsync(DbConnection connection, string thermostatId, string query)
    {
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = StorageConnections.Command(connection, null, query,
                ("@type", ThermostatStorage.StateName), ("@key", ThermostatKeys.GrainKey(thermostatId)));
            return await command.ExecuteScalarAsync() is byte[] payload
                ? JsonSerializer.Deserialize(payload, ThermostatStateJsonContext.Default.ThermostatState)
                : null;
        }
    }
}
