-- Hearth, SQLite: upgrade steps done once per service (Hearth.Silo.Storage.LegacyStateImporter).
-- A silo starting on a database of the retired Hearth runtime (its tables are named hearth_*) carries the
-- thermostat states over into grain_state and records it here, so no later start does it again. The
-- hearth_* tables are left as they were, to drop once the upgrade is confirmed (see deploy/README.md).
-- Idempotent.

CREATE TABLE IF NOT EXISTS upgrade_step
(
    service_id   TEXT NOT NULL,   -- Orleans:ServiceId
    step         TEXT NOT NULL,   -- e.g. legacy-thermostat-state
    completed_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,   -- UTC
    detail       TEXT NOT NULL,   -- what the step did, for people
    PRIMARY KEY (service_id, step)
) WITHOUT ROWID;
