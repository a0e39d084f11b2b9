-- Migration 6: what an incremental backup needs to find what changed without reading the
-- whole store (see store/sqlite/changes.py; the triggers are made there, for every table).

-- Facts about this store: 'store_id' (stays for its life) and 'backup_epoch' (new after a
-- restore: a restored store's history differs from the chain it came from, so its next
-- backup is a full one).
CREATE TABLE store_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
INSERT INTO store_meta VALUES ('store_id', lower(hex(randomblob(16))));
INSERT INTO store_meta VALUES ('backup_epoch', lower(hex(randomblob(8))));
INSERT INTO store_meta VALUES ('backup_log_floor', '0');

-- Per table, the highest rowid a backup has seen (only ever raised). Rows above it are new
-- to every backup; a change to a row at or below it is written to backup_changes.
CREATE TABLE backup_marks (
    tbl   TEXT PRIMARY KEY,
    upto  INTEGER NOT NULL
);

-- The change log: one line per insert/update/delete of a row at or below its table's mark,
-- in commit order. For messages, the old uid and content hash (the message digest of an
-- incremental is its parent's, corrected by these).
CREATE TABLE backup_changes (
    seq       INTEGER PRIMARY KEY,
    tbl       TEXT NOT NULL,
    row       INTEGER NOT NULL,
    op        TEXT NOT NULL,     -- 'i', 'u' or 'd'
    old_uid   TEXT,
    old_hash  TEXT
);
