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

    /// <summary>Connections one silo opens to PostgreSQL at most, unless the connection string says otherwise.</summary>
    public const int DefaultPostgresPoolSize = 20;

    /// <summary>
    /// The connection string the silo uses: for PostgreSQL, with <c>Maximum Pool Size</c> set to
    /// <see cref="DefaultPostgresPoolSize"/> when it sets none. Npgsql's own default (100 per silo) lets a few silos
    /// exhaust PostgreSQL's <c>max_connections</c> (100 by default) when many grains write at once, as they do
    /// when a silo shuts down.
    /// </summary>
    public string EffectiveConnectionString
    {
        get
        {
            if (!IsPostgres)
            {
                return ConnectionString;
            }

            var builder = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
            // Npgsql's builder answers for every keyword it knows, set or not; the connection string it writes
            // names only those set, under their canonical names (MaxPoolSize becomes Maximum Pool Size).
            var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
            if (!given.ContainsKey("Maximum Pool Size"))
            {
                builder.MaxPoolSize = DefaultPostgresPoolSize;
            }

            return builder.ConnectionString;
        }
    }
}
