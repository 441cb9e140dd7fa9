using System.Data.Common;
using Hearth.Silo.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Hearth.Silo.Storage;

/// <summary>Connections to the configured database, for the silo's own statements (schema, upgrade).</summary>
public static class StorageConnections
{
    /// <summary>Opens a connection to the database <paramref name="storage"/> names.</summary>
    public static async Task<DbConnection> OpenAsync(StorageOptions storage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storage);
        DbConnection connection = storage.IsPostgres
            ? new NpgsqlConnection(storage.EffectiveConnectionString)
            : new SqliteConnection(storage.EffectiveConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
