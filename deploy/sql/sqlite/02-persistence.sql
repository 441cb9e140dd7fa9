-- Hearth, SQLite: grain state for Microsoft.Orleans.Persistence.AdoNet (invariant "System.Data.SQLite").
-- One table and the four named queries the provider reads from OrleansQuery. Requires 01-queries.sql and
-- SQLite 3.35+ (RETURNING; Microsoft.Data.Sqlite 11 bundles a far newer one). Idempotent.
--
-- Contract notes (Orleans 10.4.2):
--  * A state is identified by @ServiceId, @GrainTypeString (the state *name*, not the grain class),
--    @GrainIdN0/@GrainIdN1 (Guid or integer key, else 0/0) and @GrainIdExtensionString (the string key or the
--    key extension, NULL when there is none). @GrainIdHash/@GrainTypeHash are Orleans' 32-bit hashes of the key
--    bytes and the state name: used here only to keep the index selective, never as identity on their own.
--  * The payload always arrives as bytes in @PayloadBinary, whatever the serializer (JSON included).
--  * The ETag is the integer version. Write and clear succeed only if @GrainStateVersion is the stored
--    version (or, for a first write, NULL and no row exists) and return the new version as
--    NewGrainStateVersion; on a conflict they return no row, which Orleans turns into InconsistentStateException.
--  * WriteToStorageKey is two statements, of which at most one can change a row (they exclude each other on
--    @GrainStateVersion), so it needs no explicit transaction; every other query is a single statement.

CREATE TABLE IF NOT EXISTS orleans_grain_state
(
    service_id      TEXT    NOT NULL,
    grain_type_hash INTEGER NOT NULL,
    grain_type      TEXT    NOT NULL,   -- the state name
    grain_id_hash   INTEGER NOT NULL,
    grain_id_n0     INTEGER NOT NULL,
    grain_id_n1     INTEGER NOT NULL,
    grain_id_ext    TEXT    NULL,       -- string key, or key extension of a Guid/integer key
    payload         BLOB    NULL,       -- NULL once the state is cleared (the row and its version stay)
    version         INTEGER NOT NULL,
    modified_at     TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP   -- UTC, informational
);

-- Identity of a state. SQLite treats NULLs as distinct in unique indexes and a NULL extension differs from an
-- empty one, hence the two expressions. The hashes lead so lookups stay narrow.
CREATE UNIQUE INDEX IF NOT EXISTS orleans_grain_state_identity
    ON orleans_grain_state (grain_id_hash, grain_type_hash, grain_id_n0, grain_id_n1, service_id, grain_type,
                            grain_id_ext IS NULL, ifnull(grain_id_ext, ''));

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES

-- Current payload and version, or no row.
('ReadFromStorageKey', '
SELECT payload AS PayloadBinary, version AS Version
  FROM orleans_grain_state
 WHERE grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND service_id = @ServiceId AND grain_type = @GrainTypeString
   AND grain_id_ext IS @GrainIdExtensionString;
'),

-- Update at the expected version, or first insert when no version is expected; the new version, or no row.
('WriteToStorageKey', '
UPDATE orleans_grain_state
   SET payload = @PayloadBinary, version = version + 1, modified_at = CURRENT_TIMESTAMP
 WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion
   AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND service_id = @ServiceId AND grain_type = @GrainTypeString
   AND grain_id_ext IS @GrainIdExtensionString
RETURNING version AS NewGrainStateVersion;

INSERT INTO orleans_grain_state
    (service_id, grain_type_hash, grain_type, grain_id_hash, grain_id_n0, grain_id_n1, grain_id_ext, payload, version)
SELECT @ServiceId, @GrainTypeHash, @GrainTypeString, @GrainIdHash, @GrainIdN0, @GrainIdN1,
       @GrainIdExtensionString, @PayloadBinary, 1
 WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING version AS NewGrainStateVersion;
'),

-- Clear (DeleteStateOnClear = false): drop the payload, keep the row, bump the version; the new version, or no row.
('ClearStorageKey', '
UPDATE orleans_grain_state
   SET payload = NULL, version = version + 1, modified_at = CURRENT_TIMESTAMP
 WHERE version = @GrainStateVersion
   AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND service_id = @ServiceId AND grain_type = @GrainTypeString
   AND grain_id_ext IS @GrainIdExtensionString
RETURNING version AS NewGrainStateVersion;
'),

-- Clear (DeleteStateOnClear = true, optional key): delete the row at the expected version; returns version + 1
-- (any value other than the old ETag means success; Orleans then resets the ETag to null), or no row.
('DeleteStorageKey', '
DELETE FROM orleans_grain_state
 WHERE version = @GrainStateVersion
   AND grain_id_hash = @GrainIdHash AND grain_type_hash = @GrainTypeHash
   AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1
   AND service_id = @ServiceId AND grain_type = @GrainTypeString
   AND grain_id_ext IS @GrainIdExtensionString
RETURNING version + 1 AS NewGrainStateVersion;
')

ON CONFLICT (QueryKey) DO UPDATE
    SET QueryText = excluded.QueryText
    WHERE OrleansQuery.QueryText IS NOT excluded.QueryText;
