using Hearth.Runtime.Storage.AdoNet;
using Hearth.Runtime.Storage.Postgres;
using Hearth.Runtime.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hearth.Tests.Infrastructure;

/// <summary>Databases as the silo opens them, for tests that look inside.</summary>
public static class Databases
{
    public static AdoNetDatabase Sqlite(string path) =>
        new(new SqliteDialect($"Data Source={path}"), TimeProvider.System, NullLogger<AdoNetDatabase>.Instance);

    public static AdoNetDatabase Postgres(string connectionString) =>
        new(new PostgresDialect(connectionString), TimeProvider.System, NullLogger<AdoNetDatabase>.Instance);
}
