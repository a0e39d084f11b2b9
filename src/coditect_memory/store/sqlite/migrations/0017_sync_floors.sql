-- Migration 17: a SQLite server reuses the ids of its deleted newest rows (a forget), so rows
-- pushed afterwards can get ids at or below a machine's pull cursor. Each such forget leaves
-- the largest id left here; a pull that has not seen it starts from there (duplicates are
-- taken as such). Append-only: never edit a migration that has shipped; add the next one.
CREATE TABLE sync_id_floors (
    seq   INTEGER PRIMARY KEY,
    floor INTEGER NOT NULL,                    -- the largest messages.id the forget left
    at    INTEGER NOT NULL                     -- epoch ms
);

-- On a machine: the last floor its pulls have taken into account.
ALTER TABLE sync_state ADD COLUMN floor_seq INTEGER NOT NULL DEFAULT 0;
