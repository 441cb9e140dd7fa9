using SiloStatus = Hearth.Runtime.Membership.SiloStatus;
using IMembershipTable = Hearth.Runtime.Membership.IMembershipTable;
using Hearth.Runtime.Membership;
using Hearth.Runtime.Storage;
using Hearth.Runtime.Storage.AdoNet;

namespace Hearth.Tests.Storage;

/// <summary>
/// What every storage provider must do, for the checkpoint store and the membership table. Each
/// provider's test class derives from this and supplies a fresh, empty database.
/// </summary>
public abstract class StorageContract
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A new empty database, the same one for the whole test.</summary>
    protected abstract AdoNetDatabase Database { get; }

    protected ICheckpointStore Store => new AdoNetCheckpointStore(Database, TimeProvider.System);

    protected IMembershipTable Membership => new AdoNetMembershipTable(Database);

    [Fact]
    public async Task Initialize_IsIdempotent()
    {
        await Store.InitializeAsync(None);
        await Store.InitializeAsync(None);

        Assert.Null(await Store.ReadGrainStateAsync("thermostat", "t-1", None));
    }

    [Fact]
    public async Task Claim_IncrementsTheEpochAndReturnsNothingStoredAtFirst()
    {
        await Store.InitializeAsync(None);

        var first = await Store.ClaimPartitionAsync("g", 3, "silo-a", None);
        var second = await Store.ClaimPartitionAsync("g", 3, "silo-b", None);
        var otherGroup = await Store.ClaimPartitionAsync("h", 3, "silo-a", None);

        Assert.Equal(1, first.Epoch);
        Assert.Equal(2, second.Epoch);
        Assert.Equal(1, otherGroup.Epoch);
        Assert.Empty(first.Offsets);
        Assert.Empty(first.ForwardMarks);
    }

    [Fact]
    public async Task Checkpoint_StoresStatesOffsetsAndMarks_ForTheNextClaim()
    {
        await Store.InitializeAsync(None);
        var claim = await Store.ClaimPartitionAsync("g", 1, "silo-a", None);

        var result = await Store.WriteCheckpointAsync("g",
        [
            new PartitionCheckpoint(1, claim.Epoch,
                [new GrainStateWrite("thermostat", "t-1", """{"temperature":21}""", 1), new GrainStateWrite("thermostat", "t-2", "{}", 1)],
                new Dictionary<string, long> { ["readings"] = 42, ["settings"] = 7 },
                [new ForwardMark("readings", 1, "readings", 0, 99)]),
        ], None);
        var next = await Store.ClaimPartitionAsync("g", 1, "silo-b", None);

        Assert.Empty(result.FencedPartitions);
        Assert.Equal(new StoredGrainState("""{"temperature":21}""", 1), await Store.ReadGrainStateAsync("thermostat", "t-1", None));
        Assert.Equal(new Dictionary<string, long> { ["readings"] = 42, ["settings"] = 7 }, next.Offsets);
        Assert.Equal([new ForwardMark("readings", 1, "readings", 0, 99)], next.ForwardMarks);
    }

    [Fact]
    public async Task Checkpoint_OverwritesWithNewerVersions()
    {
        await Store.InitializeAsync(None);
        var claim = await Store.ClaimPartitionAsync("g", 0, "silo-a", None);

        await Store.WriteCheckpointAsync("g", [Checkpoint(0, claim.Epoch, "t-1", "{\"v\":1}", 1, 10)], None);
        await Store.WriteCheckpointAsync("g", [Checkpoint(0, claim.Epoch, "t-1", "{\"v\":2}", 2, 20)], None);

        Assert.Equal(new StoredGrainState("{\"v\":2}", 2), await Store.ReadGrainStateAsync("thermostat", "t-1", None));
        Assert.Equal(20, (await Store.ClaimPartitionAsync("g", 0, "silo-a", None)).Offsets["readings"]);
    }

    [Fact]
    public async Task Checkpoint_WithAStaleEpoch_IsFencedAndWritesNothingOfThatPartition()
    {
        await Store.InitializeAsync(None);
        var old = await Store.ClaimPartitionAsync("g", 2, "silo-a", None);
        var other = await Store.ClaimPartitionAsync("g", 5, "silo-a", None);
        await Store.WriteCheckpointAsync("g", [Checkpoint(2, old.Epoch, "t-2", "{\"v\":1}", 1, 10)], None);
        var current = await Store.ClaimPartitionAsync("g", 2, "silo-b", None);
        await Store.WriteCheckpointAsync("g", [Checkpoint(2, current.Epoch, "t-2", "{\"v\":2}", 2, 20)], None);

        // The old owner, unaware, writes older work for partition 2 together with partition 5, which it still owns.
        var result = await Store.WriteCheckpointAsync("g",
            [Checkpoint(2, old.Epoch, "t-2", "{\"v\":\"stale\"}", 2, 15), Checkpoint(5, other.Epoch, "t-5", "{\"v\":5}", 1, 3)], None);

        Assert.Equal([2], result.FencedPartitions);
        Assert.Equal(new StoredGrainState("{\"v\":2}", 2), await Store.ReadGrainStateAsync("thermostat", "t-2", None));
        Assert.Equal(new StoredGrainState("{\"v\":5}", 1), await Store.ReadGrainStateAsync("thermostat", "t-5", None));
        var reclaimed = await Store.ClaimPartitionAsync("g", 2, "silo-c", None);
        Assert.Equal(20, reclaimed.Offsets["readings"]);
    }

    [Fact]
    public async Task DiscardOffsets_ForgetsOffsetsAndMarksButKeepsStates()
    {
        await Store.InitializeAsync(None);
        var claim = await Store.ClaimPartitionAsync("g", 0, "silo-a", None);
        await Store.WriteCheckpointAsync("g",
        [
            new PartitionCheckpoint(0, claim.Epoch, [new GrainStateWrite("thermostat", "t-1", "{}", 1)],
                new Dictionary<string, long> { ["readings"] = 5 }, [new ForwardMark("readings", 0, "readings", 1, 4)]),
        ], None);

        await Store.DiscardOffsetsAsync("g", None);
        var next = await Store.ClaimPartitionAsync("g", 0, "silo-a", None);

        Assert.Empty(next.Offsets);
        Assert.Empty(next.ForwardMarks);
        Assert.NotNull(await Store.ReadGrainStateAsync("thermostat", "t-1", None));
    }

    [Fact]
    public async Task Keys_AreStoredVerbatim()
    {
        await Store.InitializeAsync(None);
        var claim = await Store.ClaimPartitionAsync("g", 0, "silo-a", None);
        const string key = "bâtiment-7/étage 3 'quoted' \"dq\" 🔥";

        await Store.WriteCheckpointAsync("g", [Checkpoint(0, claim.Epoch, key, "{\"x\":\"ü\"}", 1, 1)], None);

        Assert.Equal(new StoredGrainState("{\"x\":\"ü\"}", 1), await Store.ReadGrainStateAsync("thermostat", key, None));
    }

    [Fact]
    public async Task Membership_RegisterHeartbeatAndStatus_AreReadBack()
    {
        await Store.InitializeAsync(None);
        await Membership.RegisterAsync("g", new SiloRecord("silo-a", "host-1", null, 1_000, SiloStatus.Joining, 1_000, [], 0, null), None);
        await Membership.SetStatusAsync("g", "silo-a", SiloStatus.Active, 2_000, None);
        await Membership.HeartbeatAsync("g", "silo-a", new SiloHeartbeat(3_000, "http://127.0.0.1:5081", [0, 3, 5], 42, "{\"x\":1}"), None);
        await Membership.RegisterAsync("other", new SiloRecord("silo-z", "host-9", null, 1, SiloStatus.Joining, 1, [], 0, null), None);

        var silo = Assert.Single(await Membership.ReadSilosAsync("g", None));

        Assert.Equal(new SiloRecord("silo-a", "host-1", "http://127.0.0.1:5081", 1_000, SiloStatus.Active, 3_000, null!, 42, "{\"x\":1}"),
            silo with { Partitions = null! });
        Assert.Equal([0, 3, 5], silo.Partitions);
        var events = await Membership.ReadEventsAsync("g", 10, None);
        Assert.Equal(["active", "joining"], events.Where(e => e.Kind == "status").Select(e => e.Detail));
    }

    [Fact]
    public async Task Membership_StaleSilos_AreMarkedDeadOnce_AndStayDead()
    {
        await Store.InitializeAsync(None);
        await Membership.RegisterAsync("g", new SiloRecord("quiet", "h", null, 0, SiloStatus.Active, 1_000, [1], 5, null), None);
        await Membership.RegisterAsync("g", new SiloRecord("alive", "h", null, 0, SiloStatus.Active, 9_000, [2], 5, null), None);

        var first = await Membership.MarkStaleDeadAsync("g", 5_000, 10_000, "alive", None);
        var second = await Membership.MarkStaleDeadAsync("g", 5_000, 10_100, "someone-else", None);
        await Membership.HeartbeatAsync("g", "quiet", new SiloHeartbeat(11_000, null, [1], 5, null), None);

        Assert.Equal(["quiet"], first);
        Assert.Empty(second);
        var silos = await Membership.ReadSilosAsync("g", None);
        Assert.Equal(SiloStatus.Dead, silos.Single(s => s.Name == "quiet").Status);
        Assert.Equal(SiloStatus.Active, silos.Single(s => s.Name == "alive").Status);
        var dead = Assert.Single(await Membership.ReadEventsAsync("g", 10, None), e => e.Detail.StartsWith("dead", StringComparison.Ordinal));
        Assert.Equal("quiet", dead.SiloName);
        Assert.Contains("noticed by alive", dead.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Membership_Events_AreReturnedNewestFirst_UpToTheLimit()
    {
        await Store.InitializeAsync(None);
        for (var i = 0; i < 5; i++)
        {
            await Membership.AddEventAsync("g", new ClusterEvent(100 + i, "silo-a", "assigned", $"{i}"), None);
        }

        var events = await Membership.ReadEventsAsync("g", 3, None);

        Assert.Equal(["4", "3", "2"], events.Select(e => e.Detail));
    }

    private static PartitionCheckpoint Checkpoint(int partition, long epoch, string key, string json, long version, long offset) =>
        new(partition, epoch, [new GrainStateWrite("thermostat", key, json, version)],
            new Dictionary<string, long> { ["readings"] = offset }, []);
}
