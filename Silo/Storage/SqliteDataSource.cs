using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Hearth.Silo.Storage;

/// <summary>
/// SQLite connections for Orleans' ADO.NET storage, each opened with <c>synchronous=NORMAL</c>: in write-ahead
/// logging mode (which the schema installer sets) a commit then survives a crash of the process, but is not
/// forced to disk on every write; only a power loss can lose the last commits. SQLite's default (<c>FULL</c>)
/// flushes the log on every commit, which makes every grain write wait for the disk.
/// </summary>
public sealed class SqliteDataSource(string connectionString) : DbDataSource
{
    public override string ConnectionString => connectionString;

    protected override DbConnection CreateDbConnection() => new SqliteConnection(connectionString);

    protected override DbConnection OpenDbConnection()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous=NORMAL";
        command.ExecuteNonQuery();
        return connection;
    }

    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous=NORMAL";
        await command.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}
