using Hearth.Runtime.Storage;
using Hearth.Runtime.Storage.AdoNet;
using Hearth.Runtime.Storage.Sqlite;
using Hearth.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hearth.Tests.Storage;

public sealed class SqliteCheckpointStoreTests : CheckpointStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    public SqliteCheckpointStoreTests()
    {
        Store = new AdoNetCheckpointStore(
            new SqliteDialect($"Data Source={_directory.File("state.db")}"), TimeProvider.System, NullLogger<AdoNetCheckpointStore>.Instance);
    }

    protected override ICheckpointStore Store { get; }

    public void Dispose() => _directory.Dispose();
}
