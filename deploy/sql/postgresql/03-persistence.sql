-- Hearth, PostgreSQL: grain state (Hearth.Silo.Storage.PostgresGrainStorage, group commit). Requires nothing else.
-- One row per state of a grain, as in SQLite (../sqlite/01-grain-state.sql). The ETag is the integer version: a
-- write or clear succeeds only at the version the activation holds (a first write only where no row exists) and
-- bumps it. A cleared state keeps its row and version, with no payload. The payload is the state as JSON (UTF-8).
-- Idempotent; the silo applies it at start (Storage:ApplySchema) inside one transaction under an advisory lock.

CREATE TABLE IF NOT EXISTS grain_state
(
    service_id  text        NOT NULL,   -- Orleans:ServiceId
    state_name  text        NOT NULL,   -- the name in [PersistentState("...")]
    grain_type  text        NOT NULL,   -- Orleans grain type, e.g. thermostatcontroller
    grain_key   text        NOT NULL,   -- the grain's key, e.g. t:t-17
    payload     bytea       NULL,       -- NULL once cleared
    version     integer     NOT NULL,
    modified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, state_name, grain_type, grain_key)
);

-- Earlier versions of Hearth kept the thermostats' states in Orleans' ADO.NET table: carried over at the first start
-- of this version (while this table is empty). The old table is left in place; drop it once the silos run this version.
DO $carry$
BEGIN
    IF to_regclass('orleans_grain_state') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM grain_state) THEN
        INSERT INTO grain_state (service_id, state_name, grain_type, grain_key, payload, version, modified_at)
        SELECT service_id, grain_type, 'thermostatcontroller', grain_id_ext, payload, version, modified_at
          FROM orleans_grain_state
         WHERE grain_type = 'thermostat' AND grain_id_ext IS NOT NULL
        ON CONFLICT DO NOTHING;
    END IF;
END
$carry$;
