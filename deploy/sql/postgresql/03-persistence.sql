-- Hearth, PostgreSQL: grain state for Microsoft.Orleans.Persistence.AdoNet (invariant "Npgsql").
-- One table and the four named queries the provider reads from OrleansQuery. Requires 01-queries.sql.
-- Idempotent; plain SQL only (no functions), so it runs inside the start-up transaction that holds the
-- advisory lock.
--
-- Contract notes (Orleans 10.4.2):
--  * A state is identified by @ServiceId, @GrainTypeString (the state *name*, not the grain class),
--    @GrainIdN0/@GrainIdN1 (Guid or integer key, else 0/0) and @GrainIdExtensionString (the string key or the
--    key extension, NULL when there is none). @GrainIdHash/@GrainTypeHash are Orleans' 32-bit hashes of the key
--    bytes and the state name: used here only to keep the index selective, never as identity on their own.
--  * The payload always arrives as bytes in @PayloadBinary, whatever the serializer (JSON included).
--  * The ETag is the integer version. Write and clear succeed only if @GrainStateVersion is the stored
--    version (or, for a first write, NULL and no row exists) and return the new version as
--    NewGrainStateVersion; on a conflict they return NULL or no row, which Orleans turns into
--    InconsistentStateException.

CREATE TABLE IF NOT EXISTS orleans_grain_state
(
    service_id      text        NOT NULL,
    grain_type_hash integer     NOT NULL,
    grain_type      text        NOT NULL,   -- the state name
    grain_id_hash   integer     NOT NULL,
    grain_id_n0     bigint      NOT NULL,
    grain_id_n1     bigint      NOT NULL,
    grain_id_ext    text        NULL,       -- string key, or key extension of a Guid/integer key
    payload         bytea       NULL,       -- NULL once the state is cleared (the row and its version stay)
    version         integer     NOT NULL,
    modified_at     timestamptz NOT NULL DEFAULT now()
);

-- Identity of a state. A NULL extension and an empty one are different keys, hence the two expressions
-- (PostgreSQL 15's NULLS NOT DISTINCT would do the same). The hashes lead so lookups stay narrow.
CREATE UNIQUE INDEX IF NOT EXISTS orleans_grain_state_identity
    ON orleans_grain_state (grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, service_id, grain_type,
                            (grain_id_ext IS NULL), COALESCE(grain_id_ext, ''));

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Current payload and version, or no row.
('ReadFromStorageKey', $sql$
SELECT s.payload AS "PayloadBinary", s.version AS "Version"
  FROM orleans_grain_state AS s
 WHERE s.grain_id_hash = @GrainIdHash AND s.grain_type_hash = @GrainTypeHash
   AND s.grain_id_n0 = @GrainIdN0 AND s.grain_id_n1 = @GrainIdN1
   AND s.service_id = @ServiceId AND s.grain_type = @GrainTypeString
   AND s.grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString;
$sql$),

-- Update at the expected version, or first insert when no version is expected; one row, NULL on conflict.
('WriteToStorageKey', $sql$
WITH updated AS (
    UPDATE orleans_grain_state AS s
       SET payload = @PayloadBinary, version = s.version + 1, modified_at = now()
     WHERE @GrainStateVersion IS NOT NULL AND s.version = @GrainStateVersion
       AND s.grain_id_hash = @GrainIdHash AND s.grain_type_hash = @GrainTypeHash
       AND s.grain_id_n0 = @GrainIdN0 AND s.grain_id_n1 = @GrainIdN1
       AND s.service_id = @ServiceId AND s.grain_type = @GrainTypeString
       AND s.grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
    RETURNING s.version
), inserted AS (
    INSERT INTO orleans_grain_state
        (service_id, grain_type_hash, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
    SELECT @ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1,
           @GrainIdExtensionString, @PayloadBinary, 1
     WHERE @GrainStateVersion IS NULL
    ON CONFLICT DO NOTHING
    RETURNING version
)
SELECT COALESCE((SELECT version FROM updated), (SELECT version FROM inserted)) AS "NewGrainStateVersion";
$sql$),

-- Clear (DeleteStateOnClear = false): drop the payload, keep the row, bump the version; one row, NULL on conflict.
('ClearStorageKey', $sql$
WITH cleared AS (
    UPDATE orleans_grain_state AS s
       SET payload = NULL, version = s.version + 1, modified_at = now()
     WHERE s.version = @GrainStateVersion
       AND s.grain_id_hash = @GrainIdHash AND s.grain_type_hash = @GrainTypeHash
       AND s.grain_id_n0 = @GrainIdN0 AND s.grain_id_n1 = @GrainIdN1
       AND s.service_id = @ServiceId AND s.grain_type = @GrainTypeString
       AND s.grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
    RETURNING s.version
)
SELECT (SELECT version FROM cleared) AS "NewGrainStateVersion";
$sql$),

-- Clear (DeleteStateOnClear = true, optional key): delete the row at the expected version; one row: version + 1
-- (any value other than the old ETag means success; Orleans then resets the ETag to null), NULL on conflict.
('DeleteStorageKey', $sql$
WITH deleted AS (
    DELETE FROM orleans_grain_state AS s
     WHERE s.version = @GrainStateVersion
       AND s.grain_id_hash = @GrainIdHash AND s.grain_type_hash = @GrainTypeHash
       AND s.grain_id_n0 = @GrainIdN0 AND s.grain_id_n1 = @GrainIdN1
       AND s.service_id = @ServiceId AND s.grain_type = @GrainTypeString
       AND s.grain_id_ext IS NOT DISTINCT FROM @GrainIdExtensionString
    RETURNING s.version + 1 AS version
)
SELECT (SELECT version FROM deleted) AS "NewGrainStateVersion";
$sql$)

ON CONFLICT (QueryKey) DO UPDATE
    SET QueryText = EXCLUDED.QueryText
    WHERE OrleansQuery.QueryText IS DISTINCT FROM EXCLUDED.QueryText;
