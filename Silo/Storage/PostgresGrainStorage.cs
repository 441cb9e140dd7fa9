using Npgsql;
using NpgsqlTypes;
using Orleans.Storage;

namespace Hearth.Silo.Storage;

/// <summary>
/// Grain state in PostgreSQL, with group commit (<see cref="GroupCommitGrainStorage"/>): what has queued up runs in one
/// transaction, one round trip and one log flush, its reads as one query and its writes as one statement each way.
/// </summary>
/// <remarks>
/// <para>Orleans' ADO.NET provider costs a round trip, a transaction and a log flush per write; with thousands of
/// controllers writing, the silo and the database spent their time on that (./bench.sh cluster).</para>
/// <para>Set-based statements do not keep an order among their rows, so a batch is run in segments in which no state
/// appears twice: the operations of one state run in the order they were queued, as the fencing requires.</para>
/// </remarks>
public sealed class PostgresGrainStorage(string name, NpgsqlDataSource database, string serviceId, IGrainStorageSerializer serializer, ILogger<GroupCommitGrainStorage> logger)
    : GroupCommitGrainStorage(name, serviceId, serializer, logger)
{
    private const string Read =
        "SELECT s.state_name, s.grain_type, s.grain_key, s.payload, s.version FROM grain_state AS s " +
        "JOIN unnest($2::text[], $3::text[], $4::text[]) AS k(state_name, grain_type, grain_key) " +
        "USING (state_name, grain_type, grain_key) WHERE s.service_id = $1";

    private const string Update =
        "UPDATE grain_state AS s SET payload = u.payload, version = s.version + 1, modified_at = now() " +
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::integer[]) AS u(state_name, grain_type, grain_key, payload, expected) " +
        "WHERE s.service_id = $1 AND s.state_name = u.state_name AND s.grain_type = u.grain_type AND s.grain_key = u.grain_key AND s.version = u.expected " +
        "RETURNING s.state_name, s.grain_type, s.grain_key, s.version";

    private const string Insert =
        "INSERT INTO grain_state (service_id, state_name, grain_type, grain_key, payload, version) " +
        "SELECT $1, u.state_name, u.grain_type, u.grain_key, u.payload, 1 " +
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[]) AS u(state_name, grain_type, grain_key, payload) " +
        "ON CONFLICT DO NOTHING RETURNING state_name, grain_type, grain_key, version";

    protected override bool Blocking => false;

    protected override async Task RunBatchAsync(IReadOnlyList<Operation> batch)
    {
        await using var connection = await database.OpenConnectionAsync().ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        var segment = new List<Operation>(batch.Count);
        var keys = new HashSet<(string, string, string)>();
        foreach (var operation in batch)
        {
            if (!keys.Add(Key(operation)))
            {
                await RunSegmentAsync(connection, segment).ConfigureAwait(false);
                segment.Clear();
                keys.Clear();
                keys.Add(Key(operation));
            }

            segment.Add(operation);
        }

        await RunSegmentAsync(connection, segment).ConfigureAwait(false);
        await transaction.CommitAsync().ConfigureAwait(false);
    }

    protected override ValueTask CloseAsync() => database.DisposeAsync();

    private static (string, string, string) Key(Operation operation) => (operation.StateName, operation.GrainType, operation.GrainKey);

    /// <summary>Runs operations of distinct states: the reads, updates and inserts each as one statement, in one round trip.</summary>
    private async Task RunSegmentAsync(NpgsqlConnection connection, List<Operation> segment)
    {
        var reads = segment.Where(o => o.Kind == OperationKind.Read || (o.Kind == OperationKind.Clear && o.Expected is null)).ToList();
        var updates = segment.Where(o => o.Expected is not null && o.Kind != OperationKind.Read).ToList();
        var inserts = segment.Where(o => o.Kind == OperationKind.Write && o.Expected is null).ToList();
        var outcome = new Dictionary<(string, string, string), (byte[]? Payload, long Version)>();
        await using (var statements = new NpgsqlBatch(connection))
        {
            if (reads.Count > 0)
            {
                statements.BatchCommands.Add(Command(Read, reads, payloads: false, expected: false));
            }

            if (updates.Count > 0)
            {
                statements.BatchCommands.Add(Command(Update, updates, payloads: true, expected: true));
            }

            if (inserts.Count > 0)
            {
                statements.BatchCommands.Add(Command(Insert, inserts, payloads: true, expected: false));
            }

            await using var results = await statements.ExecuteReaderAsync().ConfigureAwait(false);
            do
            {
                while (await results.ReadAsync().ConfigureAwait(false))
                {
                    var returnsPayload = results.FieldCount == 5;
                    var payload = returnsPayload && !await results.IsDBNullAsync(3).ConfigureAwait(false) ? (byte[])results.GetValue(3) : null;
                    outcome[(results.GetString(0), results.GetString(1), results.GetString(2))] = (payload, results.GetInt32(returnsPayload ? 4 : 3));
                }
            }
            while (await results.NextResultAsync().ConfigureAwait(false));
        }

        var conflicts = new List<Operation>();
        foreach (var operation in segment)
        {
            var found = outcome.TryGetValue(Key(operation), out var row);
            switch (operation.Kind)
            {
                case OperationKind.Read:
                    operation.Payload = found ? row.Payload : null;
                    operation.Version = found ? row.Version : null;
                    break;
                case OperationKind.Clear when operation.Expected is null:
                    // Never stored as far as the caller knows: fine if that is still so.
                    if (found)
                    {
                        operation.Conflict = Conflict(operation, row.Version);
                    }

                    break;
                default:
                    if (found)
                    {
                        operation.Version = row.Version;
                    }
                    else
                    {
                        conflicts.Add(operation);
                    }

                    break;
            }
        }

        if (conflicts.Count > 0)
        {
            await RefuseAsync(connection, conflicts).ConfigureAwait(false);
        }
    }

    /// <summary>Refuses writes and clears whose version was not the stored one, naming the stored version.</summary>
    private async Task RefuseAsync(NpgsqlConnection connection, List<Operation> conflicts)
    {
        var stored = new Dictionary<(string, string, string), long>();
        await using (var statements = new NpgsqlBatch(connection) { BatchCommands = { Command(Read, conflicts, payloads: false, expected: false) } })
        {
            await using var rows = await statements.ExecuteReaderAsync().ConfigureAwait(false);
            while (await rows.ReadAsync().ConfigureAwait(false))
            {
                stored[(rows.GetString(0), rows.GetString(1), rows.GetString(2))] = rows.GetInt32(4);
            }
        }

        foreach (var operation in conflicts)
        {
            operation.Conflict = Conflict(operation, stored.TryGetValue(Key(operation), out var version) ? version : null);
        }
    }

    private NpgsqlBatchCommand Command(string sql, List<Operation> operations, bool payloads, bool expected)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ServiceId });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.StateName)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.GrainType)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.GrainKey)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        if (payloads)
        {
            // A clear sets the payload to NULL at the next version.
            command.Parameters.Add(new NpgsqlParameter<byte[]?[]> { TypedValue = [.. operations.Select(o => o.Kind == OperationKind.Clear ? null : o.Payload)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        }

        if (expected)
        {
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. operations.Select(o => checked((int)o.Expected!.Value))], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        }

        return command;
    }
}
