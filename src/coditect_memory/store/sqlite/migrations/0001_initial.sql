-- coditect-memory store, SQLite backend, migration 1.
-- Append-only: never edit a migration that has shipped; add the next one.
-- Times are integer epoch milliseconds, UTC.

-- One row per working directory seen (the `cwd` of transcripts, `project` of history).
CREATE TABLE projects (
    id            INTEGER PRIMARY KEY,
    path          TEXT NOT NULL UNIQUE,    -- absolute path as Claude Code recorded it
    name          TEXT NOT NULL,           -- last path component, for display and filters
    first_seen    INTEGER,
    last_seen     INTEGER,
    privacy_level TEXT NOT NULL DEFAULT 'normal'
);

-- One row per Claude Code session id. Facts come from the lines read; counts and tokens
-- are recomputed from `messages` whenever a run touched the session (dirty = 1).
CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,   -- Claude's sessionId
    project_id         INTEGER REFERENCES projects(id),
    started_at         INTEGER,
    ended_at           INTEGER,
    title              TEXT,               -- custom title, AI title, summary or first prompt
    summary            TEXT,               -- the latest summary / compaction summary line
    first_prompt       TEXT,
    git_branch         TEXT,
    version            TEXT,               -- Claude Code version
    model              TEXT,               -- most used model
    slug               TEXT,               -- plan slug, links plans/<slug>.md
    message_count      INTEGER NOT NULL DEFAULT 0,
    prompt_count       INTEGER NOT NULL DEFAULT 0,
    tool_call_count    INTEGER NOT NULL DEFAULT 0,
    error_count        INTEGER NOT NULL DEFAULT 0,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    parent_session_id  TEXT,               -- the session this one resumed or continued
    privacy_level      TEXT NOT NULL DEFAULT 'normal',
    dirty              INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sessions_project ON sessions(project_id, started_at);
CREATE INDEX sessions_dirty ON sessions(dirty) WHERE dirty = 1;

-- The manifest: what each source file looked like when last read, and how far it was read.
CREATE TABLE source_files (
    id              INTEGER PRIMARY KEY,
    root            TEXT NOT NULL,         -- the ingested root (absolute)
    path            TEXT NOT NULL,         -- relative to root, '/' separators
    kind            TEXT NOT NULL,         -- source kind, or 'unknown' / 'not_read'
    size            INTEGER,
    mtime_ns        INTEGER,
    sha256          TEXT,                  -- of the whole file when last read
    bytes_consumed  INTEGER NOT NULL DEFAULT 0,  -- watermark: resume here if the prefix holds
    lines_consumed  INTEGER NOT NULL DEFAULT 0,
    prefix_sha256   TEXT,                  -- of the first bytes_consumed bytes
    state           TEXT,                  -- reader state at the watermark (JSON)
    partial_tail    INTEGER NOT NULL DEFAULT 0,  -- ends in a line still being written
    messages        INTEGER NOT NULL DEFAULT 0,  -- rows first stored from this file
    errors          INTEGER NOT NULL DEFAULT 0,  -- issues at the last read
    last_error      TEXT,
    last_run_id     INTEGER,
    missing_since   INTEGER,               -- set when the file disappeared (its rows stay)
    UNIQUE (root, path)
);

-- One row per thing said or logged. `uid` is the identity (DESIGN.md: the source's own id
-- where it has one, else a hash of what makes the record unique).
CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    uid            TEXT NOT NULL UNIQUE,
    session_id     TEXT,
    project_id     INTEGER,
    source_kind    TEXT NOT NULL,          -- transcript, history, todo, plan, debug, ...
    type           TEXT NOT NULL,          -- user, assistant, tool_use, tool_result, thinking, log, ...
    role           TEXT,
    content        TEXT,                   -- the searchable text (NULL when in blobs)
    content_hash   TEXT,                   -- sha256 of content (or of the blob)
    blob_sha256    TEXT,                   -- content stored once in blobs (file versions, images)
    ts             INTEGER,                -- epoch ms UTC
    component      TEXT,                   -- Hooks, LSP, MCP, ... (debug logs, system lines)
    level          TEXT,                   -- debug, info, warn, error
    tool_name      TEXT,
    tool_use_id    TEXT,
    is_error       INTEGER NOT NULL DEFAULT 0,
    is_meta        INTEGER NOT NULL DEFAULT 0,  -- injected by the tool, not typed by a person
    is_sidechain   INTEGER NOT NULL DEFAULT 0,
    agent_id       TEXT,
    ext_id         TEXT,                   -- the source's own id (transcript uuid)
    parent_ext_id  TEXT,
    model          TEXT,
    linked_uid     TEXT,                   -- the same logical message seen elsewhere (history -> transcript)
    source_file_id INTEGER REFERENCES source_files(id),
    source_line    INTEGER,                -- 1-based; NULL for whole-file sources
    source_offset  INTEGER,
    run_id         INTEGER,
    metadata       TEXT,                   -- every other field of the original, verbatim (JSON)
    privacy_level  TEXT NOT NULL DEFAULT 'normal',
    deleted_at     INTEGER
);
CREATE INDEX messages_session ON messages(session_id, ts);
CREATE INDEX messages_ext ON messages(ext_id) WHERE ext_id IS NOT NULL;

-- Token usage, one row per API response: (message id, request id) counts once even when
-- the response spans several transcript lines.
CREATE TABLE api_usage (
    message_id         TEXT NOT NULL,
    request_id         TEXT NOT NULL,
    session_id         TEXT,
    model              TEXT,
    ts                 INTEGER,
    input_tokens       INTEGER NOT NULL DEFAULT 0,
    output_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    is_sidechain       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, request_id)
);
CREATE INDEX api_usage_session ON api_usage(session_id);

-- Content-addressed contents: a file version or image stored once however often it recurs.
CREATE TABLE blobs (
    sha256  TEXT PRIMARY KEY,
    size    INTEGER NOT NULL,
    is_text INTEGER NOT NULL,
    data    BLOB NOT NULL
);

-- Which real path a file-history backup is a version of (from file-history-snapshot lines).
CREATE TABLE file_backups (
    session_id  TEXT NOT NULL,
    backup_name TEXT NOT NULL,             -- the '<hash>' of '<hash>@v<N>': one per file
    path        TEXT NOT NULL,
    PRIMARY KEY (session_id, backup_name)
);

-- The audit trail: one row per `memory ingest`.
CREATE TABLE extraction_runs (
    id             INTEGER PRIMARY KEY,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    status         TEXT NOT NULL,          -- running, completed, failed, interrupted
    root           TEXT NOT NULL,
    format         TEXT NOT NULL DEFAULT 'claude',
    pid            INTEGER,
    files_seen     INTEGER NOT NULL DEFAULT 0,
    files_changed  INTEGER NOT NULL DEFAULT 0,
    files_unknown  INTEGER NOT NULL DEFAULT 0,
    bytes_read     INTEGER NOT NULL DEFAULT 0,
    messages_read  INTEGER NOT NULL DEFAULT 0,
    messages_new   INTEGER NOT NULL DEFAULT 0,
    duplicates     INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,
    manifest_sha256 TEXT,                  -- digest of (path, size, sha256) of every file seen
    message        TEXT                    -- why it failed, when it did
);

-- What each run read from each changed file, with the file's checksum at that time.
CREATE TABLE run_files (
    run_id         INTEGER NOT NULL,
    source_file_id INTEGER NOT NULL,
    sha256         TEXT,
    size           INTEGER,
    bytes_read     INTEGER NOT NULL DEFAULT 0,
    messages_read  INTEGER NOT NULL DEFAULT 0,
    messages_new   INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,
    action         TEXT NOT NULL,          -- new, appended, rewritten, unreadable
    PRIMARY KEY (run_id, source_file_id)
);

-- One row per bad record: where it is and why it could not be stored as it was.
CREATE TABLE ingest_errors (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    path        TEXT NOT NULL,             -- relative to the run's root ('' for the root itself)
    line        INTEGER,
    byte_offset INTEGER,
    severity    TEXT NOT NULL,             -- error: not stored; warning: stored repaired
    reason      TEXT NOT NULL
);
CREATE INDEX ingest_errors_run ON ingest_errors(run_id);
