-- Migration 9: privacy (issue 14). Forget requests, their tombstones and the rows they hid
-- until purged, privacy levels, and the hash-chained audit log.
-- Append-only: never edit a migration that has shipped; add the next one.

-- One row per `memory forget`: what was asked (never the --match text itself, only its
-- sha256), why, how much, and when the hidden rows are (or were) purged for good.
CREATE TABLE privacy_forgets (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,          -- epoch ms
    selector    TEXT NOT NULL,             -- JSON: session / project / match_sha256 / before
    reason      TEXT,
    messages    INTEGER NOT NULL,
    sessions    INTEGER NOT NULL,
    purge_at    INTEGER,                   -- epoch ms the held rows go (NULL once purged)
    purged_at   INTEGER
);

-- The uids a forget removed: ingest never stores them again, and a restore drops them.
CREATE TABLE privacy_tombstones (
    uid         TEXT PRIMARY KEY,
    forget_id   INTEGER NOT NULL,
    at          INTEGER NOT NULL
);

-- Soft-forgotten rows (messages, sessions) as JSON, out of every read query, until purged.
CREATE TABLE privacy_held (
    kind        TEXT NOT NULL,             -- 'message' or 'session'
    key         TEXT NOT NULL,             -- messages.id or sessions.id
    forget_id   INTEGER NOT NULL,
    blob_sha256 TEXT,
    row         TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX privacy_held_forget ON privacy_held(forget_id);

-- PUBLIC / TEAM / PRIVATE / EPHEMERAL per project (its path) or per session (an override).
CREATE TABLE privacy_levels (
    scope       TEXT NOT NULL,             -- 'project' or 'session'
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    set_at      INTEGER NOT NULL,
    PRIMARY KEY (scope, name)
);

-- Append-only, hash-chained: hash = sha256 of the entry's fields and the previous hash.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,          -- epoch ms
    actor       TEXT NOT NULL,             -- the local user, or a token name (API)
    action      TEXT NOT NULL,             -- forget, privacy.set, export, backup, restore, ...
    target      TEXT,
    reason      TEXT,
    detail      TEXT,                      -- JSON: counts and ids, never content
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);

-- Where the retained chain starts once old entries were dropped (retention): one row.
CREATE TABLE audit_anchor (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL,          -- the last dropped entry
    hash        TEXT NOT NULL              -- its hash: the first kept entry's prev_hash
);
