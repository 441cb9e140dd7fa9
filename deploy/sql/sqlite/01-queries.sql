-- Hearth, SQLite: the OrleansQuery table.
-- Orleans' ADO.NET persistence provider (invariant "System.Data.SQLite", served by Microsoft.Data.Sqlite)
-- loads the SQL it runs from this table at start-up; 02-persistence.sql fills it. Idempotent: run 01, then 02,
-- at every silo start.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);
