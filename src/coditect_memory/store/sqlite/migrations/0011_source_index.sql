-- coditect-memory store, migration 11: messages by source kind.
-- Append-only: never edit a migration that has shipped; add the next one.
--
-- `memory status` counts messages per source kind: a scan of the whole table took ~3 s at
-- 1M messages (2.6 GB of pages); this index covers the count (~0.15 s) and serves the API's
-- `/messages?source=` pages. Few distinct keys, so inserts land at the end of each group.
CREATE INDEX messages_source ON messages(source_kind, deleted_at);
