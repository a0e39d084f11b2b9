-- Migration 10: memories extracted from the archive (or added by a person), their evidence,
-- the entities they name, checkpoints and context packs. Plain tables any backend can hold.

-- One remembered thing. project_id 0: not tied to a project (a user's preference).
CREATE TABLE memories (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL DEFAULT 0,
    type        TEXT NOT NULL,             -- decision, preference, fact, error_fix, todo, pattern
    text        TEXT NOT NULL,
    norm        TEXT NOT NULL,             -- normalised text: near-duplicates share it (consolidation)
    importance  REAL NOT NULL DEFAULT 0.5, -- 0..1, decays with time, reinforced when seen or used
    pinned      INTEGER NOT NULL DEFAULT 0,
    origin      TEXT NOT NULL DEFAULT 'extracted',  -- extracted | user
    status      TEXT NOT NULL DEFAULT 'active',     -- active | archived | forgotten | done
    seen_count  INTEGER NOT NULL DEFAULT 1,
    first_seen  INTEGER,
    last_seen   INTEGER,
    last_used   INTEGER,
    decayed_at  INTEGER,                   -- importance holds the decay up to here
    session_id  TEXT,                      -- the latest session it was seen in
    updated_at  INTEGER NOT NULL,
    UNIQUE (project_id, type, norm)
);
CREATE INDEX memories_project ON memories(project_id, status, type);

-- Provenance: the messages a memory was drawn from.
CREATE TABLE memory_evidence (
    memory_id  INTEGER NOT NULL,
    uid        TEXT NOT NULL,
    session_id TEXT,
    ts         INTEGER,
    PRIMARY KEY (memory_id, uid)
);

-- Files, functions, packages, commands, error codes named by memories.
CREATE TABLE entities (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,                   -- file, function, package, command, error
    name  TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE INDEX entities_name ON entities(name);

CREATE TABLE memory_entities (
    memory_id INTEGER NOT NULL,
    entity_id INTEGER NOT NULL,
    PRIMARY KEY (memory_id, entity_id)
);
CREATE INDEX memory_entities_entity ON memory_entities(entity_id);

-- Named watermarks of the memory pipeline ('extract': messages.id done).
CREATE TABLE memory_state (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Every context pack printed: what it held, so `memory context diff` can compare.
CREATE TABLE context_packs (
    id          TEXT PRIMARY KEY,
    project_id  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    body        TEXT NOT NULL                -- the pack as JSON
);
CREATE INDEX context_packs_project ON context_packs(project_id, created_at);

-- Immutable snapshots of a project's context at a moment.
CREATE TABLE checkpoints (
    id          TEXT PRIMARY KEY,
    project_id  INTEGER NOT NULL DEFAULT 0,
    session_id  TEXT,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    body        TEXT NOT NULL                -- the checkpoint as JSON (docs/checkpoints.md)
);
CREATE INDEX checkpoints_project ON checkpoints(project_id, created_at);
