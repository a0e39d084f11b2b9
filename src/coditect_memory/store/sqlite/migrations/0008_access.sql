-- coditect-memory store, SQLite backend, migration 8: who may read what (the REST API).
-- Append-only: never edit a migration that has shipped; add the next one.

-- Issued API tokens: the registry, never the token itself (a token is signed, and checked
-- against its row here on every request, so revoking one takes effect at once).
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,          -- the token's `jti`
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,             -- read, write, admin, metrics
    submodules  TEXT NOT NULL DEFAULT '[]',-- JSON list of submodule names; [] sees everything
    created_at  INTEGER NOT NULL,          -- epoch ms
    expires_at  INTEGER,                   -- epoch ms; NULL never
    revoked_at  INTEGER
);

-- Submodules: a project belongs to the one whose path prefix matches its working directory
-- (the longest match wins).
CREATE TABLE submodules (
    name        TEXT PRIMARY KEY,
    paths       TEXT NOT NULL,             -- JSON list of path prefixes
    git_url     TEXT,
    created_at  INTEGER NOT NULL
);

-- A session's title and tags as a person set them (PATCH /sessions/{id}); derivation never
-- touches this table, so an edit survives the next ingest.
CREATE TABLE session_notes (
    session_id  TEXT PRIMARY KEY,
    title       TEXT,
    tags        TEXT NOT NULL DEFAULT '[]',  -- JSON list
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT,                      -- the token's name
    submodule   TEXT                       -- the token's submodules, comma separated
);

-- Writes made through the API: who (token name and submodules), what, when.
CREATE TABLE api_writes (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    token_name  TEXT,
    submodule   TEXT,
    action      TEXT NOT NULL,             -- ingest, patch-session, backup, ...
    target      TEXT
);
