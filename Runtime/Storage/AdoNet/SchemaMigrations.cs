namespace Hearth.Runtime.Storage.AdoNet;

/// <summary>
/// The versioned schema. Each migration runs once, in order, in a transaction that also records it in
/// <c>hearth_schema_version</c>. Never edit a released migration: add the next one.
/// </summary>
internal static class SchemaMigrations
{
    internal sealed record Migration(int Version, string Description, IReadOnlyList<string> Statements);

    public const string VersionTable = """
        CREATE TABLE IF NOT EXISTS hearth_schema_version (
            version INTEGER NOT NULL PRIMARY KEY,
            description VARCHAR(200) NOT NULL,
            applied_at_ms BIGINT NOT NULL)
        """;

    public static readonly IReadOnlyList<Migration> All =
    [
        new(1, "grain state, partition leases, offsets and forward marks",
        [
            """
            CREATE TABLE hearth_grain_state (
                grain_type VARCHAR(100) NOT NULL,
                grain_key VARCHAR(255) NOT NULL,
                partition_id INTEGER NOT NULL,
                state TEXT NOT NULL,
                version BIGINT NOT NULL,
                epoch BIGINT NOT NULL,
                updated_at_ms BIGINT NOT NULL,
                PRIMARY KEY (grain_type, grain_key))
            """,
            """
            CREATE TABLE hearth_partition_lease (
                group_id VARCHAR(255) NOT NULL,
                partition_id INTEGER NOT NULL,
                epoch BIGINT NOT NULL,
                owner VARCHAR(255) NOT NULL,
                claimed_at_ms BIGINT NOT NULL,
                checkpoint_at_ms BIGINT,
                PRIMARY KEY (group_id, partition_id))
            """,
            """
            CREATE TABLE hearth_partition_offset (
                group_id VARCHAR(255) NOT NULL,
                partition_id INTEGER NOT NULL,
                topic VARCHAR(255) NOT NULL,
                next_offset BIGINT NOT NULL,
                epoch BIGINT NOT NULL,
                updated_at_ms BIGINT NOT NULL,
                PRIMARY KEY (group_id, partition_id, topic))
            """,
            """
            CREATE TABLE hearth_forward_mark (
                group_id VARCHAR(255) NOT NULL,
                partition_id INTEGER NOT NULL,
                topic VARCHAR(255) NOT NULL,
                source_topic VARCHAR(255) NOT NULL,
                source_partition INTEGER NOT NULL,
                source_offset BIGINT NOT NULL,
                epoch BIGINT NOT NULL,
                PRIMARY KEY (group_id, partition_id, topic, source_topic, source_partition))
            """,
        ]),
        new(2, "silo membership and cluster events",
        [
            """
            CREATE TABLE hearth_silo (
                group_id VARCHAR(255) NOT NULL,
                silo_name VARCHAR(255) NOT NULL,
                host VARCHAR(255) NOT NULL,
                http_address VARCHAR(255),
                started_at_ms BIGINT NOT NULL,
                status VARCHAR(20) NOT NULL,
                heartbeat_at_ms BIGINT NOT NULL,
                partitions TEXT NOT NULL,
                activations BIGINT NOT NULL,
                stats TEXT,
                PRIMARY KEY (group_id, silo_name))
            """,
            """
            CREATE TABLE hearth_cluster_event (
                event_id VARCHAR(36) NOT NULL PRIMARY KEY,
                group_id VARCHAR(255) NOT NULL,
                at_ms BIGINT NOT NULL,
                silo_name VARCHAR(255) NOT NULL,
                kind VARCHAR(40) NOT NULL,
                detail VARCHAR(2000) NOT NULL)
            """,
            "CREATE INDEX hearth_cluster_event_by_time ON hearth_cluster_event (group_id, at_ms)",
        ]),
    ];
}
