namespace Hearth.Runtime.Configuration;

/// <summary>Where grain state, partition offsets and leases are stored. Section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";
    public const string DefaultConnectionString = "Data Source=hearth.db";

    /// <summary><c>sqlite</c> (one silo) or <c>postgres</c> (a cluster).</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>ADO.NET connection string of the provider.</summary>
    public string ConnectionString { get; set; } = DefaultConnectionString;
}
