using Npgsql;

namespace Hearth.Testing;

/// <summary>
/// The PostgreSQL server tests and benchmarks use: <c>./test.sh</c> and <c>./bench.sh</c> start a throwaway one
/// on 127.0.0.1 and name it in <c>HEARTH_TEST_POSTGRES</c>. Every user gets a database of its own.
/// </summary>
public static class PostgresServer
{
    public const string Variable = "HEARTH_TEST_POSTGRES";

    /// <summary>The server's connection string.</summary>
    /// <exception cref="InvalidOperationException">No server is configured: the test fails, it is not skipped.</exception>
    public static string ConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"This test needs PostgreSQL: {Variable} is not set. Run ./test.sh, which starts a throwaway " +
                $"PostgreSQL on 127.0.0.1, or set {Variable} to a server's connection string (Host=...;Port=...;Username=...).");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "hearth_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ToString();
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing its connections.</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
