using System.Globalization;
using Hearth.Runtime.Storage.AdoNet;

namespace Hearth.Runtime.Membership;

/// <summary><see cref="IMembershipTable"/> in the silos' database (tables <c>hearth_silo</c>, <c>hearth_cluster_event</c>).</summary>
public sealed class AdoNetMembershipTable(AdoNetDatabase database) : IMembershipTable
{
    public async Task RegisterAsync(string groupId, SiloRecord silo, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = AdoNetDatabase.Command(connection, transaction, """
            INSERT INTO hearth_silo (group_id, silo_name, host, http_address, started_at_ms, status, heartbeat_at_ms, partitions, activations, stats)
            VALUES (@g, @n, @h, @a, @s, @st, @hb, @p, @act, @stats)
            ON CONFLICT (group_id, silo_name) DO UPDATE SET
                host = excluded.host, http_address = excluded.http_address, started_at_ms = excluded.started_at_ms,
                status = excluded.status, heartbeat_at_ms = excluded.heartbeat_at_ms, partitions = excluded.partitions,
                activations = excluded.activations, stats = excluded.stats
            """))
        {
            AdoNetDatabase.Add(command, "@g", groupId);
            AdoNetDatabase.Add(command, "@n", silo.Name);
            AdoNetDatabase.Add(command, "@h", silo.Host);
            AdoNetDatabase.Add(command, "@a", (object?)silo.HttpAddress ?? DBNull.Value);
            AdoNetDatabase.Add(command, "@s", silo.StartedAtMs);
            AdoNetDatabase.Add(command, "@st", Format(silo.Status));
            AdoNetDatabase.Add(command, "@hb", silo.HeartbeatAtMs);
            AdoNetDatabase.Add(command, "@p", FormatPartitions(silo.Partitions));
            AdoNetDatabase.Add(command, "@act", silo.Activations);
            AdoNetDatabase.Add(command, "@stats", (object?)silo.Stats ?? DBNull.Value);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await InsertEventAsync(connection, transaction, groupId, new ClusterEvent(silo.StartedAtMs, silo.Name, "status", Format(silo.Status)), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task HeartbeatAsync(string groupId, string siloName, SiloHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // A silo marked dead stays dead: its heartbeat does not bring it back (it must register again).
        await using var command = AdoNetDatabase.Command(connection, null, """
            UPDATE hearth_silo SET heartbeat_at_ms = @hb, http_address = COALESCE(@a, http_address), partitions = @p,
                activations = @act, stats = @stats
            WHERE group_id = @g AND silo_name = @n AND status <> 'dead'
            """);
        AdoNetDatabase.Add(command, "@g", groupId);
        AdoNetDatabase.Add(command, "@n", siloName);
        AdoNetDatabase.Add(command, "@hb", heartbeat.AtMs);
        AdoNetDatabase.Add(command, "@a", (object?)heartbeat.HttpAddress ?? DBNull.Value);
        AdoNetDatabase.Add(command, "@p", FormatPartitions(heartbeat.Partitions));
        AdoNetDatabase.Add(command, "@act", heartbeat.Activations);
        AdoNetDatabase.Add(command, "@stats", (object?)heartbeat.Stats ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SetStatusAsync(string groupId, string siloName, SiloStatus status, long atMs, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        int changed;
        await using (var command = AdoNetDatabase.Command(connection, transaction,
            // A dead silo owns nothing: its last known partitions are cleared with the status.
            "UPDATE hearth_silo SET status = @st, heartbeat_at_ms = @t, partitions = CASE WHEN @st = 'dead' THEN '' ELSE partitions END " +
            "WHERE group_id = @g AND silo_name = @n AND status <> @st"))
        {
            AdoNetDatabase.Add(command, "@g", groupId);
            AdoNetDatabase.Add(command, "@n", siloName);
            AdoNetDatabase.Add(command, "@st", Format(status));
            AdoNetDatabase.Add(command, "@t", atMs);
            changed = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        if (changed > 0)
        {
            await InsertEventAsync(connection, transaction, groupId, new ClusterEvent(atMs, siloName, "status", Format(status)), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> MarkStaleDeadAsync(
        string groupId, long heartbeatBeforeMs, long atMs, string bySilo, CancellationToken cancellationToken)
    {
        var stale = (await ReadSilosAsync(groupId, cancellationToken))
            .Where(s => s.Status != SiloStatus.Dead && s.HeartbeatAtMs < heartbeatBeforeMs)
            .ToList();
        var marked = new List<string>();
        foreach (var silo in stale)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var command = AdoNetDatabase.Command(connection, transaction, """
                UPDATE hearth_silo SET status = 'dead', partitions = ''
                WHERE group_id = @g AND silo_name = @n AND status <> 'dead' AND heartbeat_at_ms = @hb
                """))
            {
                AdoNetDatabase.Add(command, "@g", groupId);
                AdoNetDatabase.Add(command, "@n", silo.Name);
                AdoNetDatabase.Add(command, "@hb", silo.HeartbeatAtMs);
                // Only the silo whose update matched writes the event: concurrent sweeps log it once.
                if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    continue;
                }
            }

            var silence = TimeSpan.FromMilliseconds(atMs - silo.HeartbeatAtMs);
            await InsertEventAsync(connection, transaction, groupId,
                new ClusterEvent(atMs, silo.Name, "status", $"dead (no heartbeat for {silence.TotalSeconds:F0} s; noticed by {bySilo})"),
                cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            marked.Add(silo.Name);
        }

        return marked;
    }

    public async Task<IReadOnlyList<SiloRecord>> ReadSilosAsync(string groupId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = AdoNetDatabase.Command(connection, null, """
            SELECT silo_name, host, http_address, started_at_ms, status, heartbeat_at_ms, partitions, activations, stats
            FROM hearth_silo WHERE group_id = @g ORDER BY silo_name
            """);
        AdoNetDatabase.Add(command, "@g", groupId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var silos = new List<SiloRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            silos.Add(new SiloRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetInt64(3),
                ParseStatus(reader.GetString(4)),
                reader.GetInt64(5),
                ParsePartitions(reader.GetString(6)),
                reader.GetInt64(7),
                reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return silos;
    }

    public async Task AddEventAsync(string groupId, ClusterEvent clusterEvent, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await InsertEventAsync(connection, null, groupId, clusterEvent, cancellationToken);
    }

    public async Task<IReadOnlyList<ClusterEvent>> ReadEventsAsync(string groupId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = AdoNetDatabase.Command(connection, null,
            "SELECT at_ms, silo_name, kind, detail FROM hearth_cluster_event WHERE group_id = @g ORDER BY at_ms DESC, event_id LIMIT @l");
        AdoNetDatabase.Add(command, "@g", groupId);
        AdoNetDatabase.Add(command, "@l", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<ClusterEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new ClusterEvent(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return events;
    }

    /// <summary>The status as stored and shown: joining, active, shutting-down, dead.</summary>
    public static string Format(SiloStatus status) => status switch
    {
        SiloStatus.Joining => "joining",
        SiloStatus.Active => "active",
        SiloStatus.ShuttingDown => "shutting-down",
        _ => "dead",
    };

    private static SiloStatus ParseStatus(string text) => text switch
    {
        "joining" => SiloStatus.Joining,
        "active" => SiloStatus.Active,
        "shutting-down" => SiloStatus.ShuttingDown,
        _ => SiloStatus.Dead,
    };

    private static string FormatPartitions(IReadOnlyList<int> partitions) =>
        string.Join(",", partitions.Select(p => p.ToString(CultureInfo.InvariantCulture)));

    private static List<int> ParsePartitions(string text) =>
        text.Length == 0 ? [] : text.Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();

    private static async Task InsertEventAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction,
        string groupId, ClusterEvent clusterEvent, CancellationToken cancellationToken)
    {
        await using var command = AdoNetDatabase.Command(connection, transaction, """
            INSERT INTO hearth_cluster_event (event_id, group_id, at_ms, silo_name, kind, detail)
            VALUES (@id, @g, @t, @n, @k, @d)
            """);
        AdoNetDatabase.Add(command, "@id", Guid.NewGuid().ToString());
        AdoNetDatabase.Add(command, "@g", groupId);
        AdoNetDatabase.Add(command, "@t", clusterEvent.AtMs);
        AdoNetDatabase.Add(command, "@n", clusterEvent.SiloName);
        AdoNetDatabase.Add(command, "@k", clusterEvent.Kind);
        AdoNetDatabase.Add(command, "@d", clusterEvent.Detail.Length > 2000 ? clusterEvent.Detail[..2000] : clusterEvent.Detail);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
