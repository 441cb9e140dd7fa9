using Hearth.Grains;
using Hearth.Silo.Configuration;
using Hearth.Silo.Storage;
using Hearth.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Storage;

namespace Hearth.Tests.Integration;

/// <summary>
/// The single silo's grain storage on a real SQLite file with the project's schema: states survive a reopen,
/// the ETag fences stale writers (also within one batch), and a batch commits or fails as one.
/// </summary>
public sealed class SqliteGrainStorageTests : GrainStorageTests
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hearth-storage-" + Guid.NewGuid().ToString("N"));

    protected override StorageOptions Storage => new() { Provider = StorageOptions.Sqlite, ConnectionString = $"Data Source={Path.Combine(_directory, "state.db")}" };

    public override Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    protected override GroupCommitGrainStorage Create(string serviceId) =>
        new SqliteGrainStorage("thermostats", Storage.ConnectionString, serviceId, new Hearth.Silo.Storage.JsonGrainStorageSerializer(), NullLogger<GroupCommitGrainStorage>.Instance);
}

/// <summary>The cluster's grain storage on a real PostgreSQL database with the project's schema, to the same contract.</summary>
[Trait("Category", "Cluster")]
public sealed class PostgresGrainStorageTests : GrainStorageTests
{
    private string _database = "";

    protected override StorageOptions Storage => new() { Provider = StorageOptions.Postgres, ConnectionString = _database };

    public override async Task InitializeAsync()
    {
        _database = await PostgresServer.CreateDatabaseAsync();
        await base.InitializeAsync();
    }

    public override Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        return PostgresServer.DropDatabaseAsync(_database);
    }

    protected override GroupCommitGrainStorage Create(string serviceId) =>
        new PostgresGrainStorage("thermostats", NpgsqlDataSource.Create(Storage.EffectiveConnectionString), serviceId, new Hearth.Silo.Storage.JsonGrainStorageSerializer(), NullLogger<GroupCommitGrainStorage>.Instance);

    [Fact]
    public async Task ASiloThatStallsInsideItsTransaction_HoldsTheRowsItWrote_OnlyUntilPostgresEndsItsSession()
    {
        await using var storage = Open();
        var id = Thermostat("t-stall");
        var state = new GrainState<ThermostatState>(new ThermostatState { Temperature = 20 });
        await storage.WriteStateAsync("thermostat", id, state);

        // Another silo, on the same connection string, froze between writing the state's row and committing.
        await using var stalled = new NpgsqlConnection(Storage.EffectiveConnectionString);
        await stalled.OpenAsync();
        await using var transaction = await stalled.BeginTransactionAsync();
        await StorageConnections.ExecuteAsync(stalled, transaction,
            "UPDATE grain_state SET modified_at = now() WHERE grain_key = 't:t-stall'", CancellationToken.None);

        // This silo's write of the state waits for the row, and goes through once PostgreSQL has ended the stalled
        // session (rolling its transaction back), well before the write's own command timeout (30 s).
        state.State = new ThermostatState { Temperature = 21 };
        await storage.WriteStateAsync("thermostat", id, state).WaitAsync(TimeSpan.FromSeconds(20));
        await Assert.ThrowsAnyAsync<Exception>(() => transaction.CommitAsync());
        var read = new GrainState<ThermostatState>();
        await storage.ReadStateAsync("thermostat", id, read);
        Assert.Equal(21, read.State!.Temperature);
    }

    [Fact]
    public async Task StatesOfAnEarlierVersion_InOrleansAdoNetTable_AreCarriedOver_AtTheFirstStart()
    {
        // A database an earlier version wrote: the thermostats' states in Orleans' ADO.NET table, nothing in ours.
        await using (var connection = new NpgsqlConnection(_database))
        {
            await connection.OpenAsync();
            await StorageConnections.ExecuteAsync(connection, null,
                "DELETE FROM grain_state; CREATE TABLE orleans_grain_state (service_id text, grain_type_hash integer, grain_type text, grain_id_hash integer, " +
                "grain_id_n0 bigint, grain_id_n1 bigint, grain_id_ext text, payload bytea, version integer, modified_at timestamptz DEFAULT now()); " +
                "INSERT INTO orleans_grain_state (service_id, grain_type_hash, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_ext, payload, version) " +
                "VALUES ('hearth', 1, 'thermostat', 2, 0, 0, 't:t-old', convert_to('{\"format\":1,\"temperature\":22.5,\"seq\":4}', 'UTF8'), 7)",
                CancellationToken.None);
        }

        await new SchemaInstaller(Storage, NullLogger<SchemaInstaller>.Instance).ApplyAsync(CancellationToken.None);

        await using var storage = Open();
        var read = new GrainState<ThermostatState>();
        await storage.ReadStateAsync("thermostat", Thermostat("t-old"), read);
        Assert.True(read.RecordExists);
        Assert.Equal("7", read.ETag);
        Assert.Equal((22.5, 4L), (read.State!.Temperature, read.State.Seq));
    }
}

/// <summary>
/// What a grain storage of the silo does, on a real database with the project's schema: states survive a reopen,
/// the ETag fences stale writers (also within one batch), and a batch commits or fails as one.
/// </summary>
public abstract class GrainStorageTests : IAsyncLifetime
{
    protected abstract StorageOptions Storage { get; }

    public virtual Task InitializeAsync() =>
        new SchemaInstaller(Storage, NullLogger<SchemaInstaller>.Instance).ApplyAsync(CancellationToken.None);

    public abstract Task DisposeAsync();

    protected abstract GroupCommitGrainStorage Create(string serviceId);

    [Fact]
    public async Task AWrittenState_IsReadBack_AfterTheDatabaseIsReopened()
    {
        var id = Thermostat("t-1");
        await using (var storage = Open())
        {
            var state = new GrainState<ThermostatState>(new ThermostatState { Temperature = 21.5, Seq = 3 });
            await storage.WriteStateAsync("thermostat", id, state);
            Assert.Equal("1", state.ETag);
            Assert.True(state.RecordExists);
        }

        await using (var storage = Open())
        {
            var read = new GrainState<ThermostatState>();
            await storage.ReadStateAsync("thermostat", id, read);
            Assert.True(read.RecordExists);
            Assert.Equal("1", read.ETag);
            Assert.Equal(21.5, read.State!.Temperature);
            Assert.Equal(3, read.State!.Seq);
        }
    }

    [Fact]
    public async Task ANeverWrittenState_ReadsAsNew_WithoutARow()
    {
        await using var storage = Open();
        var read = new GrainState<ThermostatState>();

        await storage.ReadStateAsync("thermostat", Thermostat("t-none"), read);

        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.NotNull(read.State);
        Assert.Null(read.State!.Temperature);
    }

    [Fact]
    public async Task AStaleWriter_IsRefused_AndTheNewerStateStays()
    {
        await using var storage = Open();
        var id = Thermostat("t-2");
        var first = new GrainState<ThermostatState>(new ThermostatState { Seq = 1 });
        await storage.WriteStateAsync("thermostat", id, first);
        var stale = new GrainState<ThermostatState>(new ThermostatState { Seq = 99 }) { ETag = first.ETag };
        first.State!.Seq = 2;
        await storage.WriteStateAsync("thermostat", id, first);

        var refused = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("thermostat", id, stale));

        Assert.Equal("2", refused.StoredEtag);
        Assert.Equal("1", refused.CurrentEtag);
        var read = new GrainState<ThermostatState>();
        await storage.ReadStateAsync("thermostat", id, read);
        Assert.Equal(2, read.State!.Seq);
    }

    [Fact]
    public async Task AFirstWrite_IsRefused_WhereAnotherActivationWroteFirst()
    {
        await using var storage = Open();
        var id = Thermostat("t-3");
        await storage.WriteStateAsync("thermostat", id, new GrainState<ThermostatState>(new ThermostatState { Seq = 1 }));

        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            storage.WriteStateAsync("thermostat", id, new GrainState<ThermostatState>(new ThermostatState { Seq = 7 })));
    }

    [Fact]
    public async Task ConcurrentWrites_OfManyGrains_AllLand_AndTwoActivationsOfOneGrain_AreFenced()
    {
        await using var storage = Open();
        // Queued together, these share transactions; each is fenced as if alone.
        var writes = Enumerable.Range(0, 2_000)
            .Select(i => storage.WriteStateAsync("thermostat", Thermostat($"t-many-{i}"), new GrainState<ThermostatState>(new ThermostatState { Seq = i })))
            .ToList();
        var twin = Thermostat("t-twin");
        var a = storage.WriteStateAsync("thermostat", twin, new GrainState<ThermostatState>(new ThermostatState { Seq = 1 }));
        var b = storage.WriteStateAsync("thermostat", twin, new GrainState<ThermostatState>(new ThermostatState { Seq = 2 }));
        await Task.WhenAll(writes);

        var outcomes = new[] { await Record(a), await Record(b) };
        Assert.Single(outcomes, e => e is null);
        Assert.Single(outcomes, e => e is InconsistentStateException);
        for (var i = 0; i < 2_000; i += 199)
        {
            var read = new GrainState<ThermostatState>();
            await storage.ReadStateAsync("thermostat", Thermostat($"t-many-{i}"), read);
            Assert.Equal(i, read.State!.Seq);
        }
    }

    [Fact]
    public async Task OperationsOfOneStateQueuedTogether_RunInTheirOrder()
    {
        await using var storage = Open();
        var id = Thermostat("t-order");
        var first = new GrainState<ThermostatState>(new ThermostatState { Seq = 1 });
        var read = new GrainState<ThermostatState>();

        // Queued together (one batch): the write, then the read of the same state, then a write at the version read.
        var write = storage.WriteStateAsync("thermostat", id, first);
        var reading = storage.ReadStateAsync("thermostat", id, read);
        await Task.WhenAll(write, reading);
        Assert.Equal(1, read.State!.Seq);
        read.State.Seq = 2;
        await storage.WriteStateAsync("thermostat", id, read);
        Assert.Equal("2", read.ETag);
    }

    [Fact]
    public async Task AClearedState_ReadsAsNew_AndKeepsFencing()
    {
        await using var storage = Open();
        var id = Thermostat("t-4");
        var state = new GrainState<ThermostatState>(new ThermostatState { Seq = 5 });
        await storage.WriteStateAsync("thermostat", id, state);
        var stale = new GrainState<ThermostatState>(new ThermostatState()) { ETag = state.ETag };

        await storage.ClearStateAsync("thermostat", id, state);

        Assert.False(state.RecordExists);
        var read = new GrainState<ThermostatState>();
        await storage.ReadStateAsync("thermostat", id, read);
        Assert.False(read.RecordExists);
        Assert.Equal(state.ETag, read.ETag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("thermostat", id, stale));
    }

    [Fact]
    public async Task StatesOfOtherServices_AndOtherStateNames_AreApart()
    {
        var id = Thermostat("t-5");
        await using (var one = Open("service-a"))
        {
            await one.WriteStateAsync("thermostat", id, new GrainState<ThermostatState>(new ThermostatState { Seq = 1 }));
            var other = new GrainState<ThermostatState>();
            await one.ReadStateAsync("another-state", id, other);
            Assert.False(other.RecordExists);
        }

        await using var two = Open("service-b");
        var read = new GrainState<ThermostatState>();
        await two.ReadStateAsync("thermostat", id, read);
        Assert.False(read.RecordExists);
    }

    [Fact]
    public async Task AfterDisposal_OperationsFail_Clearly()
    {
        var storage = Open();
        await storage.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() =>
            storage.WriteStateAsync("thermostat", Thermostat("t-6"), new GrainState<ThermostatState>(new ThermostatState())));
    }

    private static async Task<Exception?> Record(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    protected static GrainId Thermostat(string id) => GrainId.Create("thermostatcontroller", Hearth.Grains.Interfaces.ThermostatKeys.GrainKey(id));

    protected GroupCommitGrainStorage Open(string serviceId = "hearth")
    {
        var storage = Create(serviceId);
        storage.Start();
        return storage;
    }
}
