using Hearth.Runtime.Storage;
using Hearth.Runtime.Storage.AdoNet;
using Hearth.Tests.Infrastructure;
using Hearth.TestingHost;

namespace Hearth.Tests.Storage;

[Trait("Category", "Postgres")]
public sealed class PostgresStorageTests : StorageContract, IAsyncLifetime
{
    private string? _database;
    private AdoNetDatabase? _db;

    protected override AdoNetDatabase Database => _db ?? throw new InvalidOperationException("not initialised");

    public async Task InitializeAsync()
    {
        _database = await PostgresServer.CreateDatabaseAsync();
        _db = Databases.Postgres(_database);
    }

    public async Task DisposeAsync()
    {
        (_db?.Dialect as IDisposable)?.Dispose();
        if (_database is not null)
        {
            await PostgresServer.DropDatabaseAsync(_database);
        }
    }

    [Fact]
    public async Task Initialize_FromManySilosAtOnce_MigratesOnce()
    {
        var stores = Enumerable.Range(0, 6)
            .Select(_ => new AdoNetCheckpointStore(Databases.Postgres(_database!), TimeProvider.System))
            .ToList();

        await Task.WhenAll(stores.Select(s => s.InitializeAsync(CancellationToken.None)));

        var claim = await Store.ClaimPartitionAsync("g", 0, "silo", CancellationToken.None);
        Assert.Equal(1, claim.Epoch);
    }

    [Fact]
    public async Task Checkpoint_OfThousandsOfStates_IsWrittenInBatches()
    {
        await Store.InitializeAsync(CancellationToken.None);
        var claim = await Store.ClaimPartitionAsync("g", 0, "silo", CancellationToken.None);
        var states = Enumerable.Range(0, 2_345).Select(i => new GrainStateWrite("thermostat", $"t-{i}", $"{{\"i\":{i}}}", 1)).ToList();

        await Store.WriteCheckpointAsync("g",
            [new PartitionCheckpoint(0, claim.Epoch, states, new Dictionary<string, long> { ["readings"] = 7 }, [])], CancellationToken.None);

        Assert.Equal(new StoredGrainState("{\"i\":2344}", 1), await Store.ReadGrainStateAsync("thermostat", "t-2344", CancellationToken.None));
    }
}
