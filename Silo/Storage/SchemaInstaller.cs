using System.Reflection;
using Hearth.Silo.Configuration;
using Microsoft.Data.Sqlite;

namespace Hearth.Silo.Storage;

/// <summary>
/// Applies the schema scripts of <c>deploy/sql</c> (compiled into the silo) to the configured database as
/// the silo starts, before Orleans reads its queries from it: PostgreSQL gets clustering and persistence,
/// SQLite persistence. The scripts are idempotent; PostgreSQL silos starting together take turns under an
/// advisory lock, in one transaction each.
/// </summary>
public sealed partial class SchemaInstaller(StorageOptions storage, ILogger<SchemaInstaller> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Any constant works as long as every silo uses the same: "Hearth" in ASCII.</summary>
    private const long AdvisoryLockKey = 0x4865617274;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(SchemaInstaller), ServiceLifecycleStage.First, ApplyAsync);
    }

    /// <summary>The scripts for <paramref name="provider"/>, in the order they apply.</summary>
    public static IReadOnlyList<(string Name, string Text)> Scripts(string provider)
    {
        var prefix = $"sql/{(string.Equals(provider, StorageOptions.Postgres, StringComparison.OrdinalIgnoreCase) ? "postgresql" : "sqlite")}/";
        var assembly = Assembly.GetExecutingAssembly();
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(n)!);
                return (n, reader.ReadToEnd());
            })
            .ToList();
    }

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        var scripts = Scripts(storage.Provider);
        if (scripts.Count == 0)
        {
            throw new InvalidOperationException("The silo has no schema scripts compiled in; it was built without deploy/sql.");
        }

        if (storage.IsPostgres)
        {
            await using var connection = await StorageConnections.OpenAsync(storage, cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await StorageConnections.ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
            foreach (var (_, text) in scripts)
            {
                await StorageConnections.ExecuteAsync(connection, transaction, text, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        else
        {
            var path = new SqliteConnectionStringBuilder(storage.EffectiveConnectionString).DataSource;
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } directory)
            {
                Directory.CreateDirectory(directory);
            }

            await using var connection = await StorageConnections.OpenAsync(storage, cancellationToken);
            // Write-ahead logging: readers never wait for the writer, and a commit costs one WAL append.
            await StorageConnections.ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL", cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var (_, text) in scripts)
            {
                await StorageConnections.ExecuteAsync(connection, transaction, text, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        LogApplied(logger, storage.Provider, string.Join(", ", scripts.Select(s => s.Name[(s.Name.LastIndexOf('/') + 1)..])));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema ({Provider}) is up to date: {Scripts}")]
    private static partial void LogApplied(ILogger logger, string provider, string scripts);
}
