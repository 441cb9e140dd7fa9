using System.Data.Common;
using Hearth.Runtime.Storage.AdoNet;
using Npgsql;

namespace Hearth.Runtime.Storage.Postgres;

/// <summary>PostgreSQL (Npgsql), the store for a cluster of silos.</summary>
public sealed class PostgresDialect : SqlDialect, IDisposable
{
    // pg_advisory_xact_lock key for schema migration: "hearth" in ASCII.
    private const long MigrationLockKey = 0x686561727468;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresDialect(string connectionString) =>
        _dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString));

    public override string Name => "postgres";

    public override DbConnection CreateConnection() => _dataSource.CreateConnection();

    public override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = AdoNetDatabase.Command(connection, transaction, "SELECT pg_advisory_xact_lock(@key)");
        AdoNetDatabase.Add(command, "@key", MigrationLockKey);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public void Dispose() => _dataSource.Dispose();
}
