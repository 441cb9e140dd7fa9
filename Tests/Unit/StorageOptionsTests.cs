using Hearth.Silo.Configuration;
using Npgsql;

namespace Hearth.Tests.Unit;

/// <summary>The connection string a silo uses: PostgreSQL pools capped unless the operator chose a size.</summary>
public sealed class StorageOptionsTests
{
    [Theory]
    [InlineData("Host=db;Username=hearth", StorageOptions.DefaultPostgresPoolSize)]
    [InlineData("Host=db;Maximum Pool Size=50", 50)]
    [InlineData("Host=db;MaxPoolSize=7", 7)]
    [InlineData("Host=db;Minimum Pool Size=2", StorageOptions.DefaultPostgresPoolSize)]
    public void PostgresPool_IsCapped_UnlessTheConnectionStringSetsItsMaximum(string connectionString, int expected)
    {
        var storage = new StorageOptions { Provider = StorageOptions.Postgres, ConnectionString = connectionString };

        var effective = new NpgsqlConnectionStringBuilder(storage.EffectiveConnectionString);

        Assert.Equal(expected, effective.MaxPoolSize);
        Assert.Equal("db", effective.Host);
    }

    [Theory]
    [InlineData("Host=db", "-c idle_in_transaction_session_timeout=5s")]
    [InlineData("Host=db;Options=-c search_path=hearth", "-c search_path=hearth -c idle_in_transaction_session_timeout=5s")]
    [InlineData("Host=db;Options=-c idle_in_transaction_session_timeout=30s", "-c idle_in_transaction_session_timeout=30s")]
    public void PostgresSessions_EndAStalledTransaction_UnlessTheConnectionStringSaysOtherwise(string connectionString, string expected)
    {
        var storage = new StorageOptions { Provider = StorageOptions.Postgres, ConnectionString = connectionString };

        Assert.Equal(expected, new NpgsqlConnectionStringBuilder(storage.EffectiveConnectionString).Options);
    }

    [Fact]
    public void SqliteConnectionString_IsUsedAsGiven()
    {
        var storage = new StorageOptions { ConnectionString = "Data Source=state.db;Cache=Shared" };

        Assert.Equal("Data Source=state.db;Cache=Shared", storage.EffectiveConnectionString);
    }
}
