-- Migration 12: sync between local stores and a central server (issue 17).
-- Append-only: never edit a migration that has shipped; add the next one.

-- A machine's link to its server (one row, made by `memory sync init`): the cursors and the
-- last results. The token is a credential: never here (MEMORY_HOME/sync-token, mode 0600).
CREATE TABLE sync_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    server           TEXT NOT NULL,
    machine_id       TEXT NOT NULL,            -- a uuid made at init
    hostname         TEXT NOT NULL,            -- for display
    submodule        TEXT,
    push_cursor      INTEGER NOT NULL DEFAULT 0,  -- the last local messages.id the server took
    pull_cursor      INTEGER NOT NULL DEFAULT 0,  -- the server's messages.id served last
    tomb_cursor      INTEGER NOT NULL DEFAULT 0,  -- the server's sync_tombstones.seq served last
    last_push_at     INTEGER,
    last_push_result TEXT,
    last_pull_at     INTEGER,
    last_pull_result TEXT,
    pending_since    INTEGER                   -- the first failed push since the last good one
);

-- Rows that came through sync, by uid, with the machine that first sent them. On the server:
-- each row's origin (first sender wins); pull leaves out the caller's own. On a machine: rows
-- pulled, which push never sends back.
CREATE TABLE sync_rows (
    uid        TEXT PRIMARY KEY,
    machine_id TEXT NOT NULL,
    submodule  TEXT
);

-- On a machine: tombstones the server has (acknowledged, or brought by a pull).
CREATE TABLE sync_tombstones_sent (
    uid TEXT PRIMARY KEY
);

-- On the server: every tombstone received, in order (pull serves them after a cursor).
CREATE TABLE sync_tombstones (
    seq        INTEGER PRIMARY KEY,
    uid        TEXT NOT NULL UNIQUE,
    machine_id TEXT NOT NULL,
    at         INTEGER NOT NULL
);

-- On the server: the registry of machines that push and pull.
CREATE TABLE sync_machines (
    id            TEXT PRIMARY KEY,
    hostname      TEXT NOT NULL,
    submodule     TEXT,
    token_name    TEXT NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_push_at  INTEGER,
    last_pull_at  INTEGER,
    rows_received INTEGER NOT NULL DEFAULT 0,  -- new rows its pushes stored
    rows_sent     INTEGER NOT NULL DEFAULT 0   -- rows its pulls were served
);
