-- Hearth, PostgreSQL: cluster membership for Microsoft.Orleans.Clustering.AdoNet (invariant "Npgsql").
-- Two tables (one version row per cluster, one row per silo incarnation) and the named queries the provider
-- reads from OrleansQuery. Requires 01-queries.sql. Idempotent; plain SQL only (no functions), so it runs
-- inside the start-up transaction that holds the advisory lock.
--
-- Contract notes (Orleans 10.4.2):
--  * @DeploymentId is ClusterOptions.ClusterId. A silo is identified by (@Address, @Port, @Generation).
--  * The table version is an integer; Orleans passes the version it last read as @Version (its ETag) and a
--    row write must succeed only if that is still the current version, bumping it by one in the same statement.
--  * Insert/update/version queries return one row with one boolean column; the read queries return the
--    version row left-joined to the member rows (always at least one row), columns named as Orleans reads them.
--  * Times are timestamptz; Npgsql binds Orleans' UTC DateTime parameters as timestamptz.

CREATE TABLE IF NOT EXISTS orleans_cluster_version
(
    deployment_id text        NOT NULL,
    version       integer     NOT NULL DEFAULT 0,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orleans_cluster_version_pk PRIMARY KEY (deployment_id)
);

CREATE TABLE IF NOT EXISTS orleans_cluster_member
(
    deployment_id   text        NOT NULL,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NOT NULL,
    host_name       text        NOT NULL,
    status          integer     NOT NULL,   -- Orleans SiloStatus: 1 Created, 2 Joining, 3 Active, 4 ShuttingDown, 5 Stopping, 6 Dead
    proxy_port      integer     NOT NULL DEFAULT 0,
    suspect_times   text        NULL,       -- "silo,time|silo,time", written and parsed by Orleans
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    CONSTRAINT orleans_cluster_member_pk PRIMARY KEY (deployment_id, address, port, generation),
    CONSTRAINT orleans_cluster_member_version_fk FOREIGN KEY (deployment_id)
        REFERENCES orleans_cluster_version (deployment_id) ON DELETE CASCADE
);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Creates the cluster's version row if missing. Returns TRUE only when this call created it.
('InsertMembershipVersionKey', $sql$
WITH created AS (
    INSERT INTO orleans_cluster_version (deployment_id)
    VALUES (@DeploymentId)
    ON CONFLICT (deployment_id) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM created);
$sql$),

-- Adds a silo row and bumps the version, both or neither: only if @Version is current and the row is new.
('InsertMembershipKey', $sql$
WITH bumped AS (
    UPDATE orleans_cluster_version AS v
       SET version = v.version + 1, changed_at = now()
     WHERE v.deployment_id = @DeploymentId
       AND v.version = @Version
       AND NOT EXISTS (SELECT 1 FROM orleans_cluster_member AS m
                        WHERE m.deployment_id = @DeploymentId AND m.address = @Address
                          AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deployment_id
), inserted AS (
    INSERT INTO orleans_cluster_member
        (deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
    SELECT b.deployment_id, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime
      FROM bumped AS b
    ON CONFLICT (deployment_id, address, port, generation) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted);
$sql$),

-- Changes a silo's status, suspicion votes and liveness and bumps the version: only if @Version is current.
('UpdateMembershipKey', $sql$
WITH bumped AS (
    UPDATE orleans_cluster_version AS v
       SET version = v.version + 1, changed_at = now()
     WHERE v.deployment_id = @DeploymentId
       AND v.version = @Version
       AND EXISTS (SELECT 1 FROM orleans_cluster_member AS m
                    WHERE m.deployment_id = @DeploymentId AND m.address = @Address
                      AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deployment_id
), updated AS (
    UPDATE orleans_cluster_member AS m
       SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
      FROM bumped AS b
     WHERE m.deployment_id = b.deployment_id AND m.address = @Address
       AND m.port = @Port AND m.generation = @Generation
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM updated);
$sql$),

-- Heartbeat: not versioned, result not read.
('UpdateIAmAlivetimeKey', $sql$
UPDATE orleans_cluster_member
   SET i_am_alive_time = @IAmAliveTime
 WHERE deployment_id = @DeploymentId AND address = @Address
   AND port = @Port AND generation = @Generation;
$sql$),

-- One silo's row with the table version (member columns NULL when the silo has no row).
('MembershipReadRowKey', $sql$
SELECT v.version         AS "Version",
       m.address         AS "Address",
       m.port            AS "Port",
       m.generation      AS "Generation",
       m.silo_name       AS "SiloName",
       m.host_name       AS "HostName",
       m.status          AS "Status",
       m.proxy_port      AS "ProxyPort",
       m.suspect_times   AS "SuspectTimes",
       m.start_time      AS "StartTime",
       m.i_am_alive_time AS "IAmAliveTime"
  FROM orleans_cluster_version AS v
  LEFT JOIN orleans_cluster_member AS m
         ON m.deployment_id = v.deployment_id
        AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
 WHERE v.deployment_id = @DeploymentId;
$sql$),

-- Every silo row of the cluster with the table version, read in one snapshot.
('MembershipReadAllKey', $sql$
SELECT v.version         AS "Version",
       m.address         AS "Address",
       m.port            AS "Port",
       m.generation      AS "Generation",
       m.silo_name       AS "SiloName",
       m.host_name       AS "HostName",
       m.status          AS "Status",
       m.proxy_port      AS "ProxyPort",
       m.suspect_times   AS "SuspectTimes",
       m.start_time      AS "StartTime",
       m.i_am_alive_time AS "IAmAliveTime"
  FROM orleans_cluster_version AS v
  LEFT JOIN orleans_cluster_member AS m ON m.deployment_id = v.deployment_id
 WHERE v.deployment_id = @DeploymentId;
$sql$),

-- Gateways for clients: active silos (@Status = 3) that listen for clients.
('GatewaysQueryKey', $sql$
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
  FROM orleans_cluster_member
 WHERE deployment_id = @DeploymentId AND status = @Status AND proxy_port > 0;
$sql$),

-- Forgets a whole cluster (used by tests and tooling).
('DeleteMembershipTableEntriesKey', $sql$
DELETE FROM orleans_cluster_member WHERE deployment_id = @DeploymentId;
DELETE FROM orleans_cluster_version WHERE deployment_id = @DeploymentId;
$sql$),

-- Bulk cleanup, used by Orleans only when CleanupDefunctSiloEntryKey is absent:
-- rows that are not Active and have not sent a heartbeat since @IAmAliveTime.
('CleanupDefunctSiloEntriesKey', $sql$
DELETE FROM orleans_cluster_member
 WHERE deployment_id = @DeploymentId
   AND i_am_alive_time < @IAmAliveTime
   AND status <> 3;
$sql$),

-- Per-row cleanup (optional key, preferred by Orleans 10.4.2): Orleans reads the table, picks Dead rows older
-- than its cutoff and deletes each one only if it is still exactly as read (Dead, same times and votes).
('CleanupDefunctSiloEntryKey', $sql$
DELETE FROM orleans_cluster_member
 WHERE deployment_id = @DeploymentId
   AND address = @Address AND port = @Port AND generation = @Generation
   AND status = 6
   AND start_time = @StartTime
   AND i_am_alive_time = @IAmAliveTime
   AND COALESCE(suspect_times, '') = COALESCE(@SuspectTimes, '');
$sql$)

ON CONFLICT (QueryKey) DO UPDATE
    SET QueryText = EXCLUDED.QueryText
    WHERE OrleansQuery.QueryText IS DISTINCT FROM EXCLUDED.QueryText;
