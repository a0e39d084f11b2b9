-- Migration 13: sync of mutable records (issue 17 item 4): session notes (title, tags),
-- privacy levels and memories converge on the central server's version.
-- Append-only: never edit a migration that has shipped; add the next one.

-- The server's side: the central version of every mutable record and where it sits in the
-- log that pulls follow (seq grows with every accepted change, across all records).
CREATE TABLE sync_mutable_log (
    kind        TEXT NOT NULL,             -- note, level, memory
    key         TEXT NOT NULL,             -- session id; scope:name; a memory's identity hash
    revision    INTEGER NOT NULL,          -- 1, 2, ...: one more per accepted change
    value       TEXT,                      -- JSON; NULL: absent (a note or level removed)
    project     TEXT,                      -- the project path it belongs to (token scopes)
    machine     TEXT NOT NULL,             -- who made this revision ('server': made there)
    updated_at  INTEGER NOT NULL,          -- epoch ms, the server's clock
    seq         INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (kind, key)
);

-- Every store's side: the central revision each local record derives from, the central value
-- at that revision, and the local value it gave (a local value unlike `synced` was changed
-- here since: it is pushed). On a server, the same rows say which of its own changes (PATCH,
-- `memory privacy set` there) are not in its log yet.
CREATE TABLE sync_mutable_state (
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    local_id    INTEGER,                   -- memories.id (memories only; NULL: none here yet)
    ident       TEXT,                      -- memories: JSON [project path, type, norm] it is known by
    base        INTEGER NOT NULL DEFAULT 0,-- 0: never synced
    central     TEXT,                      -- JSON: the central value at `base`
    synced      TEXT,                      -- JSON: the local value at `base`
    PRIMARY KEY (kind, key)
);
CREATE INDEX sync_mutable_state_local ON sync_mutable_state(local_id);

-- Local versions that lost to the central one, until re-applied or dismissed.
CREATE TABLE sync_mutable_conflicts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    local       TEXT,                      -- JSON: the losing local value
    central     TEXT,                      -- JSON: the value that won
    revision    INTEGER NOT NULL,          -- the central revision that won
    machine     TEXT,                      -- who made it
    at          INTEGER NOT NULL
);

-- The client's pull position in the server's log (name 'pull').
CREATE TABLE sync_mutable_cursor (
    name        TEXT PRIMARY KEY,
    value       INTEGER NOT NULL
);
