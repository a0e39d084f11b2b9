-- coditect-memory store, migration 16: verbatim metadata kept compressed (issue 18).
-- Append-only: never edit a migration that has shipped; add the next one.
--
-- `metadata` was 47% of the store at 1M messages (862 MB of JSON text). New rows keep it
-- as zstd with a dictionary trained per source kind (store/sqlite/packing.py: ~5.5x), in
-- `metadata_z`, with `metadata` NULL; rows stored before stay as they are. SQL reads no
-- packed field: file-history rows (whose `file_key` SQL reads) stay plain.
CREATE TABLE metadata_dicts (
    id          INTEGER PRIMARY KEY,       -- zstd's dictionary id, named in every frame
    source_kind TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    data        BLOB NOT NULL
);
ALTER TABLE messages ADD COLUMN metadata_z BLOB;
