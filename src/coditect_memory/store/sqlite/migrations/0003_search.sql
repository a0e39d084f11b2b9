-- coditect-memory store, SQLite backend, migration 3: search.
-- Append-only: never edit a migration that has shipped; add the next one.
-- The keyword index (Tantivy, under $MEMORY_HOME/index/) is derived data that can always be
-- rebuilt from `messages`; these tables record how far each index has read, so that it is
-- brought up to date incrementally, and hold the embeddings (costly to recompute).

-- One row per derived index: the keyword index, and one vector index per embedding model.
CREATE TABLE search_state (
    engine       TEXT PRIMARY KEY,         -- 'keyword', or 'semantic:<model name>'
    index_id     TEXT,                     -- identity of the on-disk index this row describes; a rebuilt or lost index has another, so the row no longer applies
    done_id      INTEGER NOT NULL DEFAULT 0,  -- watermark: every message with id <= done_id is in the index
    last_run_id  INTEGER NOT NULL DEFAULT 0,  -- the newest extraction run whose files were looked at for in-place updates
    docs         INTEGER NOT NULL DEFAULT 0,  -- documents (or vectors) in the index after the last sync
    updated_at   INTEGER                   -- epoch ms of the last sync
);

-- The last indexed row of each file whose last record can grow in place (a debug log's last
-- entry keeps its uid while its text grows): re-indexed when a later run reads that file again.
CREATE TABLE search_tails (
    source_file_id INTEGER PRIMARY KEY,    -- source_files.id
    message_id     INTEGER NOT NULL        -- messages.id of the file's last indexed row
);

-- One vector per message that carries meaning (prompts, answers, summaries, plans), per model.
CREATE TABLE embeddings (
    model        TEXT NOT NULL,            -- the embedding model's name, e.g. all-MiniLM-L6-v2
    message_id   INTEGER NOT NULL,         -- messages.id
    content_hash TEXT,                     -- messages.content_hash when embedded: a message whose text changed is embedded again
    vector       BLOB NOT NULL,            -- unit-length float16 little-endian, the model's dimension
    created_at   INTEGER NOT NULL,         -- epoch ms
    PRIMARY KEY (model, message_id)
);
