-- Migration 21: what a machine's push held back, and what its last push saw (issue 17).
-- Append-only: never edit a migration that has shipped; add the next one.

-- On a machine: messages a push passed without sending because their session or project was
-- PRIVATE or EPHEMERAL then. A later level change that makes them shareable sends them.
CREATE TABLE sync_held (
    id INTEGER PRIMARY KEY                     -- messages.id
);

-- The digest of the privacy levels the last push judged the held rows by (NULL: never), and
-- of the mutable records' inputs when a push left none pending (unchanged since: nothing to
-- look for, so a push or `sync status` skips reading every record).
ALTER TABLE sync_state ADD COLUMN levels_digest INTEGER;
ALTER TABLE sync_state ADD COLUMN mutable_digest INTEGER;
