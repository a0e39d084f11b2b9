-- coditect-memory store, migration 22: message texts kept compressed (issue 18).
-- Append-only: never edit a migration that has shipped; add the next one.
--
-- `content` was 23% of the store at 1M messages, 77% of it tool calls and results. New
-- rows keep their text as zstd with a dictionary trained per type (store/sqlite/packing.py:
-- tool results ~6x) in `content_z`, with `content` NULL; what SQL reads raw stays plain
-- (prompts and other user lines, history, titles and summaries, errors, short texts). Rows
-- stored before stay as they are: every reader reads both (packing.CONTENT), so the upgrade
-- is instant. PostgreSQL keeps content plain (TOAST compresses it).
ALTER TABLE messages ADD COLUMN content_z BLOB;
