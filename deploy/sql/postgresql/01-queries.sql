-- Hearth, PostgreSQL: the OrleansQuery table.
-- Orleans' ADO.NET clustering loads the SQL it runs from this table at start-up
-- ("SELECT QueryKey, QueryText FROM OrleansQuery"); 02-clustering.sql fills it. (Grain state is the silo's own,
-- 03-persistence.sql; the persistence queries earlier versions stored here are left alone and unused.)
-- Idempotent. Run 01, 02, 03 in order at every silo start, in one transaction holding
-- pg_advisory_xact_lock(<constant>) so that concurrent silos do not race on CREATE TABLE.
-- The names are left unquoted on purpose: the providers query "OrleansQuery", which PostgreSQL folds to orleansquery.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,
    CONSTRAINT orleansquery_pk PRIMARY KEY (QueryKey)
);
