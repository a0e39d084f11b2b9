-- Migration 5: what session derivation needs to stay set-based at millions of messages.

-- The parentUuid of a session file's first line: when it names a message of another session,
-- this session resumed or continued that one (sessions.parent_session_id).
ALTER TABLE sessions ADD COLUMN parent_ref TEXT;

-- Messages by project and time: project filters of the read side, and linking history
-- prompts that carry no sessionId (older Claude Code) to their transcript prompt.
CREATE INDEX messages_project_ts ON messages(project_id, ts);

-- History prompts not yet linked to their transcript prompt: a small index, read by every
-- derivation.
CREATE INDEX messages_history_unlinked ON messages(session_id, project_id, ts)
    WHERE source_kind = 'history' AND linked_uid IS NULL;
