-- Hearth, PostgreSQL: the OrleansQuery table.
-- Orleans' ADO.NET providers (clustering, persistence) load the SQL they run from this table at start-up
-- ("SELECT QueryKey, QueryText FROM OrleansQuery"); 02-clustering.sql and 03-persistence.sql fill it.
-- Idempotent. Run 01, 02, 03 in order at every silo start, in one transaction holding
-- pg_advisory_xact_lock(<constant>) so that concurrent silos do not race on CREATE TABLE.
-- The names are left unquoted on purpose: the providers query "OrleansQuery", which PostgreSQL folds to orleansquery.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT orleansquery_pk PRIMARY KEY (QueryKey)
);
