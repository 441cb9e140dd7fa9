using System.Data.Common;
using Hearth.Runtime.Storage.AdoNet;
using Microsoft.Data.Sqlite;

namespace Hearth.Runtime.Storage.Sqlite;

/// <summary>
/// SQLite, the embedded single-silo store. WAL journal with <c>synchronous=FULL</c>: a committed
/// checkpoint survives a power loss, not only a process crash.
/// </summary>
public sealed class SqliteDialect : SqlDialect
{
    private readonly string _connectionString;

    public SqliteDialect(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.DefaultTimeout < 30)
        {
            builder.DefaultTimeout = 30;
        }

        _connectionString = builder.ToString();
    }

    public override string Name => "sqlite";

    public override DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    public override Task OnInitializingAsync(DbConnection connection, CancellationToken cancellationToken) =>
        AdoNetDatabase.ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL", cancellationToken);

    public override Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) =>
        AdoNetDatabase.ExecuteAsync(connection, null, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000", cancellationToken);
}
