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

    /// <summary>
    /// ADO.NET connection string of the provider. With PostgreSQL, leave the password out of it when it is in
    /// appsettings.json (a password there is refused): set <see cref="Password"/> or <see cref="PasswordFile"/>, or the
    /// whole string in the environment (<c>Storage__ConnectionString</c>).
    /// </summary>
    public string ConnectionString { get; set; } = DefaultConnectionString;

    /// <summary>
    /// The PostgreSQL password, put into <see cref="ConnectionString"/>. A secret: from an environment variable
    /// (<c>Storage__Password</c>) or <see cref="PasswordFile"/>, never appsettings.json, where it is refused.
    /// </summary>
    public string? Password { get; set; }

    /// <summary>
    /// A file holding <see cref="Password"/> (a mounted Secret); a trailing line break is not part of it. Read once,
    /// when the silo starts: a rotated password takes a restart.
    /// </summary>
    public string? PasswordFile { get; set; }

    /// <summary>
    /// Apply the schema scripts (<c>deploy/sql</c>, compiled into the silo) at start. Idempotent; with
    /// PostgreSQL, silos starting together take turns. Production may apply the scripts itself and turn this off.
    /// </summary>
    public bool ApplySchema { get; set; } = true;

    public bool IsPostgres => string.Equals(Provider, Postgres, StringComparison.OrdinalIgnoreCase);

    /// <summary>Connections one silo opens to PostgreSQL at most, unless the connection string says otherwise.</summary>
    public const int DefaultPostgresPoolSize = 20;

    /// <summary>
    /// How long PostgreSQL lets a silo's session sit inside a transaction without a statement before it ends the
    /// session, unless the connection string's <c>Options</c> set <c>idle_in_transaction_session_timeout</c>.
    /// </summary>
    public const string DefaultIdleInTransactionTimeout = "5s";

    /// <summary>
    /// The connection string the silo uses: for PostgreSQL, with <c>Maximum Pool Size</c> set to
    /// <see cref="DefaultPostgresPoolSize"/> when it sets none, and <c>idle_in_transaction_session_timeout</c>
    /// (<see cref="DefaultIdleInTransactionTimeout"/>) added to its <c>Options</c>, and <see cref="Password"/> as its password.
    /// </summary>
    /// <remarks>
    /// <para>Npgsql's own pool default (100 per silo) lets a few silos exhaust PostgreSQL's <c>max_connections</c> (100
    /// by default) when many grains write at once, as they do when a silo shuts down.</para>
    /// <para>A silo that stalls (a long pause, SIGSTOP, a frozen VM) between a write and its commit keeps the rows it
    /// wrote locked, and every other silo's write of those rows waits behind it (with group commit, the whole batch
    /// waiting, and every write queued after it): the cluster's writes stall until it wakes. PostgreSQL ends such a
    /// session after the timeout, which rolls its transaction back and releases its locks; a silo that stalled that
    /// long has been or is being declared dead.</para>
    /// </remarks>
    public string EffectiveConnectionString
    {
        get
        {
            if (!IsPostgres)
            {
                return ConnectionString;
            }

            var builder = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
            if (Password is not null)
            {
                builder.Password = Password;
            }

            // Npgsql's builder answers for every keyword it knows, set or not; the connection string it writes
            // names only those set, under their canonical names (MaxPoolSize becomes Maximum Pool Size).
            var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
            if (!given.ContainsKey("Maximum Pool Size"))
            {
                builder.MaxPoolSize = DefaultPostgresPoolSize;
            }

            if (builder.Options?.Contains("idle_in_transaction_session_timeout", StringComparison.Ordinal) != true)
            {
                builder.Options = $"{builder.Options} -c idle_in_transaction_session_timeout={DefaultIdleInTransactionTimeout}".TrimStart();
            }

            return builder.ConnectionString;
        }
    }
}
