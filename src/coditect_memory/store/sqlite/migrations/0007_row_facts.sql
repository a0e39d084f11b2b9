-- Migration 7: the rules' answers, stored per row when it is written (derive/: pure Python),
-- so that reports and session counts aggregate plain columns any backend can read.
-- Rows stored before this migration are filled by its code step (store/sqlite/backfill.py).

-- Typed by a person in the main conversation (derive.prompts.is_prompt). A history line
-- linked to its transcript prompt is the same prompt: counts add `linked_uid IS NULL`.
ALTER TABLE messages ADD COLUMN is_prompt INTEGER NOT NULL DEFAULT 0;
-- The one name a row counts for in component-usage and error-analysis (derive.counting):
-- 'component' (its component; API error replies count for API) or 'tool'; NULL: neither.
ALTER TABLE messages ADD COLUMN count_kind TEXT;
ALTER TABLE messages ADD COLUMN count_name TEXT;
-- Error rows (is_error = 1): the message with what varies masked (derive.signatures).
ALTER TABLE messages ADD COLUMN error_signature TEXT;
