namespace Hearth.Silo.Configuration;

/// <summary>Where grain state (and, for a cluster, Orleans membership) is stored. Section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string DefaultConnectionString = "Data Source=hearth.db";

    /// <summary><c>sqlite</c> (one silo, localhost clustering) or <c>postgres</c> (a cluster: also the membership table).</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>ADO.NET connection string of the provider.</summary>
    public string ConnectionString { get; set; } = DefaultConnectionString;

    /// <summary>
    /// Apply the schema scripts (<c>deploy/sql</c>, compiled into the silo) at start. Idempotent; with
    /// PostgreSQL, silos starting together take turns. Production may apply the scripts itself and turn this off.
    /// </summary>
    public bool ApplySchema { get; set; } = true;

    public bool IsPostgres => string.Equals(Provider, Postgres, StringComparison.OrdinalIgnoreCase);
}
