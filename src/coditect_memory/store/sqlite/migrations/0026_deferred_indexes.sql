-- coditect-memory store, migration 26: indexes a first ingest builds after its writes (issue 18).
-- Append-only: never edit a migration that has shipped; add the next one.
--
-- A first ingest into an empty store drops the secondary indexes of its big tables and
-- builds them once, sorted, after the last row (store/sqlite/bulk.py): row by row they cost
-- a fifth of SQLite's insert CPU at 150k messages. Each dropped index's CREATE statement is
-- kept here, in the transaction that drops it, and removed in the one that builds it, so a
-- run killed in between leaves them for the next run to build. A later migration that drops
-- or replaces an index of `messages` or `api_usage` must use DROP INDEX IF EXISTS and delete
-- its row here too: on a store a killed first ingest left, the old definition would come back.
CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY,
    sql  TEXT NOT NULL
);
