-- coditect-memory store, migration 22: long tool calls and results kept compressed (issue 18).
-- Append-only: never edit a migration that has shipped; add the next one.
--
-- `content` was 23% of the store at 1M messages, 77% of it tool calls and results. New
-- non-error tool_use / tool_result / tool_output rows of at least 256 characters keep their
-- text as zstd with a dictionary trained per type (store/sqlite/packing.py, ~4.2x), in
-- `content_z`, with `content` NULL. Rows stored before stay as they are: every reader reads
-- both (packing.CONTENT), so the upgrade is instant. PostgreSQL keeps content plain.
ALTER TABLE messages ADD COLUMN content_z BLOB;
