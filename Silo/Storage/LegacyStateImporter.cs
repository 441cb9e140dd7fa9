using System.Data.Common;
using System.Text.Json;
using Confluent.Kafka;
using Hearth.Grains;
using Hearth.Grains.Interfaces;
using Hearth.Silo.Configuration;
using Hearth.Streaming.Kafka.Providers;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;

namespace Hearth.Silo.Storage;

/// <summary>
/// The upgrade from the retired Hearth runtime: a silo starting on a database that runtime used carries its
/// thermostat states over into the controllers' grain storage, before the silo reads any input, and records
/// that it did (table <c>upgrade_step</c>), so it happens once per service.
/// </summary>
/// <remarks>
/// <para>Each state comes with the offsets it is consistent with (the retired runtime wrote both in one
/// transaction): they become the consumer group's committed offsets, so input resumes there, and the
/// controller's stored positions are set to them, so inputs the old runtime applied that Kafka delivers again
/// are skipped; the commands go on from the stored sequence numbers.</para>
/// <para>A thermostat that already has a state in the new storage keeps it: a step interrupted by a crash is
/// done again from the start without overwriting what it wrote, or what controllers wrote since. A state that
/// cannot be read is reported and left out; the old tables are not changed.</para>
/// <para>Silos on PostgreSQL starting together take turns under an advisory lock: the first imports, the
/// others then find the step recorded. None of them starts reading input meanwhile (the stage is before the
/// stream provider's agents start and before the silo becomes active).</para>
/// </remarks>
public sealed partial class LegacyStateImporter(
    StorageOptions storage,
    string groupId,
    TopicsOptions topics,
    IServiceProvider services,
    ILogger<LegacyStateImporter> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The name of the step in <c>upgrade_step</c>.</summary>
    public const string Step = "legacy-thermostat-state";

    /// <summary>"Hearth upgrade" (distinct from the schema's lock: the import runs after the schema is applied).</summary>
    private const long AdvisoryLockKey = 0x4865617275;

    /// <summary>States read and written at once; within the PostgreSQL pool the silo keeps (20 connections).</summary>
    private const int Parallelism = 8;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        // After the grain storage opens (ApplicationServices), before the stream agents start and the silo is active.
        lifecycle.Subscribe(nameof(LegacyStateImporter), ServiceLifecycleStage.ApplicationServices + 1, ImportAsync);
    }

    /// <summary>Carries the retired runtime's states over, unless there are none or it was done already.</summary>
    /// <returns>What was done, or null when there was nothing to do.</returns>
    public async Task<LegacyImportResult?> ImportAsync(CancellationToken cancellationToken)
    {
        await using var connection = await StorageConnections.OpenAsync(storage, cancellationToken);
        await using var transaction = storage.IsPostgres ? await connection.BeginTransactionAsync(cancellationToken) : null;
        if (transaction is not null)
        {
            await StorageConnections.ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
        }

        var reader = new LegacyStateReader(connection, transaction, storage.IsPostgres);
        if (!await reader.ExistsAsync(cancellationToken))
        {
            return null;
        }

        if (!await reader.UpgradeTableExistsAsync(cancellationToken))
        {
            throw new InvalidOperationException(
                "The database holds thermostat states of the retired Hearth runtime (hearth_grain_state) but no upgrade_step " +
                $"table to record carrying them over: apply the schema ({(storage.IsPostgres ? "deploy/sql/postgresql/04-upgrade.sql" : "deploy/sql/sqlite/02-upgrade.sql")}), " +
                "or set Storage:ApplySchema=true so the silo applies it at start.");
        }

        var serviceId = services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId;
        if (await StepDetailAsync(connection, transaction, serviceId, cancellationToken) is { } done)
        {
            LogAlreadyDone(logger, serviceId, done);
            return null;
        }

        if (await reader.ReadUnstoppedSilosAsync(groupId, cancellationToken) is [_, ..] unstopped)
        {
            // Copies they forwarded after their last checkpoint are in Kafka with their originals still ahead of the
            // stored offsets: both would be applied.
            throw new InvalidOperationException(
                $"The retired Hearth runtime's silos {string.Join(", ", unstopped.Select(s => $"{s.Name} ({s.Status}, last heartbeat {s.LastHeartbeat:u})"))} " +
                $"of consumer group {groupId} are still running or did not stop gracefully, so inputs they forwarded since their last checkpoint would be applied twice. " +
                "Stop them with SIGTERM (start them again first if they crashed) and start this silo again. To carry the states over as they are, " +
                $"mark them stopped: UPDATE hearth_silo SET status = 'dead' WHERE group_id = '{groupId}' (deploy/README.md, upgrading).");
        }

        LogStarting(logger, serviceId);
        var offsets = await reader.ReadOffsetsAsync(groupId, cancellationToken);
        // The group first: offsets Kafka cannot stand at (a topic recreated since) fail the start before any state is written.
        var checkpoints = Checkpoints(offsets);
        try
        {
            await services.GetRequiredKeyedService<IKafkaCheckpoints>(ThermostatStreams.Provider).SetAsync(checkpoints, cancellationToken);
        }
        catch (KafkaCheckpointPastEndException e)
        {
            throw new InvalidOperationException(
                $"{e.Message} The retired runtime's offsets are of other topics than these. To carry its states over without them " +
                "(its Kafka is gone, as an embedded broker is once stopped), delete the rows of hearth_partition_offset; to start afresh, " +
                "drop its tables (deploy/README.md, upgrading).", e);
        }

        var result = await CarryOverAsync(reader.ReadStatesAsync(cancellationToken), checkpoints.ToLookup(c => c.Partition.Value), cancellationToken);

        var detail = $"{result.Imported} thermostat states imported, {result.Kept} kept as already stored, {result.Unreadable} unreadable; " +
            $"consumer group {groupId} set to the stored offsets of {checkpoints.Count} input partitions";
        await StorageConnections.ExecuteAsync(connection, transaction, "INSERT INTO upgrade_step (service_id, step, detail) VALUES (@s, @step, @d)",
            cancellationToken, ("@s", serviceId), ("@step", Step), ("@d", detail));
        if (transaction is not null)
        {
            await transaction.CommitAsync(cancellationToken);
        }

        LogDone(logger, serviceId, detail);
        return result;
    }

    /// <summary>Writes each state that can be read, with its positions at <paramref name="checkpoints"/> of its partition.</summary>
    private async Task<LegacyImportResult> CarryOverAsync(
        IAsyncEnumerable<LegacyState> states, ILookup<int, TopicPartitionOffset> checkpoints, CancellationToken cancellationToken)
    {
        var grainStorage = services.GetRequiredKeyedService<IGrainStorage>(ThermostatStorage.ProviderName);
        var grains = services.GetRequiredService<IGrainFactory>();
        var streams = new ThermostatDataAdapter(topics.Readings, topics.Settings);
        int imported = 0, kept = 0, unreadable = 0;

        await Parallel.ForEachAsync(states, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (legacy, _) =>
        {
            if (Restore(legacy) is not { } state)
            {
                Interlocked.Increment(ref unreadable);
                return;
            }

            foreach (var next in checkpoints[legacy.Partition].Where(c => c.Offset.Value > 0))
            {
                state.AppliedThrough(streams.StreamOf(next.Topic), next.Topic, legacy.Partition, next.Offset.Value - 1);
            }

            var grainId = grains.GetGrain<IThermostatControllerGrain>(ThermostatKeys.GrainKey(legacy.ThermostatId)).GetGrainId();
            var stored = new GrainState<ThermostatState>(new ThermostatState());
            await grainStorage.ReadStateAsync(ThermostatStorage.StateName, grainId, stored);
            if (stored.RecordExists)
            {
                Interlocked.Increment(ref kept);
                return;
            }

            try
            {
                await grainStorage.WriteStateAsync(ThermostatStorage.StateName, grainId, new GrainState<ThermostatState>(state));
                Interlocked.Increment(ref imported);
            }
            catch (InconsistentStateException)
            {
                // Written meanwhile by someone else: theirs is newer.
                Interlocked.Increment(ref kept);
            }
        });

        return new LegacyImportResult(imported, kept, unreadable);
    }

    /// <summary>
    /// The stored offsets of the input topics, to be the consumer group's: Kafka then delivers from where the
    /// states stand (not from the start of the topics, where the group's own commits expired; nor from past
    /// it, where the database is older than they are), and lag tools measure from there.
    /// </summary>
    private List<TopicPartitionOffset> Checkpoints(ILookup<int, LegacyOffset> offsets)
    {
        var inputTopics = topics.InputTopics.ToHashSet(StringComparer.Ordinal);
        return offsets
            .SelectMany(partition => partition.Where(o => inputTopics.Contains(o.Topic)).Select(o => new TopicPartitionOffset(o.Topic, partition.Key, o.NextOffset)))
            .OrderBy(o => o.Topic, StringComparer.Ordinal).ThenBy(o => o.Partition.Value)
            .ToList();
    }

    /// <summary>The state the retired runtime stored (the same JSON, without positions), or null if it cannot be one.</summary>
    private ThermostatState? Restore(LegacyState legacy)
    {
        if (ThermostatKeys.Problem(legacy.ThermostatId) is { } problem)
        {
            LogUnreadable(logger, legacy.ThermostatId, $"the key cannot be a thermostat id: {problem}");
            return null;
        }

        try
        {
            var state = JsonSerializer.Deserialize(legacy.Json, ThermostatStateJsonContext.Default.ThermostatState)
                ?? throw new JsonException("the state is null");
            state.Positions.Clear();
            state.Incarnation = "";
            return state;
        }
        catch (JsonException e)
        {
            LogUnreadable(logger, legacy.ThermostatId, e.Message);
            return null;
        }
    }

    private static async Task<string?> StepDetailAsync(DbConnection connection, DbTransaction? transaction, string serviceId, CancellationToken cancellationToken)
    {
        await using var command = StorageConnections.Command(connection, transaction, "SELECT detail FROM upgrade_step WHERE service_id = @s AND step = @step",
            ("@s", serviceId), ("@step", Step));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Carrying the retired Hearth runtime's thermostat states over into grain storage (service {ServiceId}); input is read once this is done")]
    private static partial void LogStarting(ILogger logger, string serviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upgrade from the retired Hearth runtime done (service {ServiceId}): {Detail}. Its hearth_* tables are no longer read; drop them once satisfied (deploy/README.md)")]
    private static partial void LogDone(ILogger logger, string serviceId, string detail);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The retired Hearth runtime's states were carried over before (service {ServiceId}): {Detail}")]
    private static partial void LogAlreadyDone(ILogger logger, string serviceId, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Thermostat {ThermostatId}: the retired runtime's stored state cannot be read and is not carried over ({Reason}); it stays in hearth_grain_state")]
    private static partial void LogUnreadable(ILogger logger, string thermostatId, string reason);
}

/// <summary>What carrying the retired runtime's states over did.</summary>
/// <param name="Imported">States written to grain storage.</param>
/// <param name="Kept">Thermostats that had a state in grain storage already, left as it was.</param>
/// <param name="Unreadable">States that could not be read, left out (and logged).</param>
public sealed record LegacyImportResult(int Imported, int Kept, int Unreadable);
