using System.Data.Common;

namespace Hearth.Runtime.Storage.AdoNet;

/// <summary>What differs between the relational databases the checkpoint store runs on.</summary>
/// <remarks>The SQL itself is shared: <c>INSERT ... ON CONFLICT ... DO UPDATE</c> and named <c>@</c> parameters work on all of them.</remarks>
public abstract class SqlDialect
{
    /// <summary>The provider's name for logs.</summary>
    public abstract string Name { get; }

    /// <summary>A new, closed connection.</summary>
    public abstract DbConnection CreateConnection();

    /// <summary>Called after each connection is opened (session settings).</summary>
    public virtual Task OnOpenedAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called once before the first migration check (database-wide settings).</summary>
    public virtual Task OnInitializingAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Serialises schema migration between silos starting together, inside <paramref name="transaction"/>.
    /// </summary>
    public virtual Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}
