using Hearth.Grains.Interfaces;
using Hearth.Runtime.Storage.AdoNet;
using Hearth.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hearth.Tests.Integration;

/// <summary>A silo whose partitions were claimed by another owner must not write them any more.</summary>
[Collection(KafkaCollection.Name)]
[Trait("Category", "Integration")]
public sealed class FencingTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task AfterAnotherOwnerClaimsItsPartitions_TheOldOwnersCheckpointIsRefused_AndItDropsThem()
    {
        var topics = kafka.CreateTopics(partitions: 2);
        var ids = Enumerable.Range(0, 20).Select(i => $"f-{i}").ToList();
        var path = _directory.File("fencing.db");
        using var fleet = new Fleet(kafka, topics);
        await using var silo = await TestSilo.StartAsync(kafka.BootstrapServers, topics, path, output);
        await fleet.PublishSettingsAsync(ids.Select(id => new ThermostatSetting(id, 21, 0.5, 0.5)), silo, Timeout);
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 18, Fleet.Clock)));
        await silo.WaitForStoredAsync(kafka.EndOffsets(topics.Readings), Timeout, "first readings");
        var database = Databases.Sqlite(path);
        var store = new AdoNetCheckpointStore(database, TimeProvider.System);
        var before = await Snapshot(database, topics);

        // Another silo claims both partitions, as it would after this one stalled past its session timeout.
        foreach (var partition in new[] { 0, 1 })
        {
            await store.ClaimPartitionAsync(topics.GroupId, partition, "usurper", CancellationToken.None);
        }

        var fenced = new TaskCompletionSource<IReadOnlyList<int>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var dropped = new List<int>();
        silo.Status.AssignmentChanged += (kind, partitions) =>
        {
            lock (dropped)
            {
                if (kind == "fenced")
                {
                    dropped.AddRange(partitions);
                    if (dropped.Count == 2)
                    {
                        fenced.TrySetResult(dropped.Order().ToList());
                    }
                }
            }
        };
        fleet.PublishReadings(ids.Select(id => new ThermostatReading(id, 30, Fleet.Clock.AddMinutes(1))));

        Assert.Equal([0, 1], await fenced.Task.WaitAsync(Timeout));
        Assert.Equal(2, silo.Status.Metrics.FencedPartitions);
        Assert.Empty(silo.Status.OwnedPartitions);
        Assert.Equal(0, silo.Status.Activations);
        // Nothing of the stale owner's later work reached the database: states, versions and offsets are as they were.
        Assert.Equal(before, await Snapshot(database, topics));
    }

    public void Dispose() => _directory.Dispose();

    private static async Task<string> Snapshot(AdoNetDatabase database, TestTopics topics)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var rows = new List<string>();
        foreach (var sql in new[]
        {
            "SELECT grain_key, state, version, epoch FROM hearth_grain_state ORDER BY grain_key",
            "SELECT partition_id, topic, next_offset, epoch FROM hearth_partition_offset ORDER BY partition_id, topic",
        })
        {
            await using var command = AdoNetDatabase.Command(connection, null, sql);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(reader.GetValue)));
            }
        }

        return string.Join("\n", rows);
    }
}
