using Hearth.Runtime.Storage.AdoNet;
using Hearth.Tests.Infrastructure;

namespace Hearth.Tests.Storage;

public sealed class SqliteStorageTests : StorageContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    public SqliteStorageTests() => Database = Databases.Sqlite(_directory.File("state.db"));

    protected override AdoNetDatabase Database { get; }

    public void Dispose() => _directory.Dispose();
}
