-- coditect-memory store, migration 23: the transcript-uuid index narrowed (issue 18).
-- Append-only: never edit a migration that has shipped; add the next one.
--
-- `messages_ext` held every message's 36-character uuid (48 MB at 1M messages) for one
-- look-up: session derivation finding the message a resumed session's first line names
-- (derive.py link_parents). Its first 8 characters (32 random bits) find the same row
-- among 1M with the full uuid compared on it: a third of the bytes.
DROP INDEX messages_ext;
CREATE INDEX messages_ext_prefix ON messages(substr(ext_id, 1, 8)) WHERE ext_id IS NOT NULL;
