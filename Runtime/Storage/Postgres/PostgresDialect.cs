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
    private readonly string _description;

    public PostgresDialect(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        _description = $"{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public override string Name => "postgres";

    public override DbConnection CreateConnection() => _dataSource.CreateConnection();

    public override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT pg_advisory_xact_lock(@key)";
        var key = command.CreateParameter();
        key.ParameterName = "@key";
        key.Value = MigrationLockKey;
        command.Parameters.Add(key);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public override string DescribeDataSource() => _description;

    public void Dispose() => _dataSource.Dispose();
}
