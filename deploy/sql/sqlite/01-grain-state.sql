-- Hearth, SQLite: grain state for the single-silo default (Hearth.Silo.Storage.SqliteGrainStorage).
-- One row per state of a grain. The ETag is the integer version: a write or clear succeeds only at the
-- version the activation holds (a first write only where no row exists) and bumps it. A cleared state keeps
-- its row and version, with no payload. The payload is the state as JSON (UTF-8 bytes).
-- Requires SQLite 3.35+ (RETURNING; Microsoft.Data.Sqlite bundles a far newer one). Idempotent.
-- The silo applies this at start (Storage:ApplySchema) and sets journal_mode=WAL, which the database keeps.

CREATE TABLE IF NOT EXISTS grain_state
(
    service_id  TEXT    NOT NULL,   -- Orleans:ServiceId
    state_name  TEXT    NOT NULL,   -- the name in [PersistentState("...")]
    grain_type  TEXT    NOT NULL,   -- Orleans grain type, e.g. thermostatcontroller
    grain_key   TEXT    NOT NULL,   -- the grain's key, e.g. t:t-17
    payload     BLOB    NULL,       -- NULL once cleared
    version     INTEGER NOT NULL,
    modified_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,   -- UTC, informational
    PRIMARY KEY (service_id, state_name, grain_type, grain_key)
) WITHOUT ROWID;
