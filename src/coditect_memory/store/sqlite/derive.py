"""Session derivation: what a run changes in the sessions it touched, set-based.

Every query works on all dirty sessions at once (a temp table of their ids), so a first run
over thousands of sessions costs a few scans, not thousands of small queries. What to write
(titles, which history line is which prompt, what a row counts for) is decided by the rules
in derive/; this module fetches what they read and writes what they answer.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from ...derive.counting import counted
from ...derive.links import LINK_EXACT_MS, Candidate, best_match, link_key
from ...derive.titles import TITLE_TYPES, SessionText, main_model
from .queries import PROMPT
from .reports import refresh

_IN_DIRTY = "session_id IN (SELECT id FROM dirty_ids)"


def derive_sessions(store: Any) -> int:
    """Derive the dirty sessions, then bring the report rollups up to date (so reports, which
    may run on a store they cannot write, find them fresh)."""
    n = _derive(store)
    refresh(store)
    return n


def _derive(store: Any) -> int:
    with store.tx() as db:
        dirty = [r[0] for r in db.execute("SELECT id FROM sessions WHERE dirty = 1")]
        if not dirty:
            return 0
        db.execute("CREATE TEMP TABLE IF NOT EXISTS dirty_ids (id TEXT PRIMARY KEY)")
        db.execute("DELETE FROM dirty_ids")
        db.executemany("INSERT INTO dirty_ids VALUES (?)", [(d,) for d in dirty])
        _one_project_per_session(db)
        _link_history(db)
        _tool_names(db)
        _counts(db)
        _titles(db)
        _parents(db)
        db.execute("UPDATE sessions SET dirty = 0 WHERE id IN (SELECT id FROM dirty_ids)")
        return len(dirty)


def _one_project_per_session(db: sqlite3.Connection) -> None:
    """A session belongs to one project (its first working directory), and so do its
    messages, even when it later ran in a subfolder (that `cwd` stays in the metadata).

    One UPDATE per session, each through the session index: a single UPDATE ... FROM over
    all sessions would first gather every matching row in a temp table (with the backup
    triggers, whole rows: GBs of RAM at a million messages)."""
    db.executemany(
        "UPDATE messages SET project_id = ? WHERE session_id = ? AND project_id IS NOT ?",
        db.execute("SELECT s.project_id, s.id, s.project_id FROM sessions s JOIN dirty_ids d"
                   " ON d.id = s.id WHERE s.project_id IS NOT NULL").fetchall())
    db.execute("""
        DELETE FROM projects WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.project_id = projects.id)
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.project_id = projects.id)""")


def _link_history(db: sqlite3.Connection) -> None:
    """A prompt in history.jsonl and in its transcript is one logical prompt: link the history
    line to it (search and counts show it once; the history line stays). Same text (slash
    commands compared as `/name args`) within 5 minutes, else the nearest prompt within 15 s
    (pastes and images are shown differently in history). A local command (/model) links to
    the system line Claude Code 2.1 writes for it. History lines without a sessionId
    (older Claude Code) are matched within their project, and take the session they match."""
    hist = db.execute("""
        SELECT id, session_id, project_id, ts, content FROM messages INDEXED BY messages_history_unlinked
        WHERE source_kind = 'history' AND linked_uid IS NULL AND type = 'user' AND ts IS NOT NULL
          AND (session_id IN (SELECT id FROM dirty_ids) OR (session_id IS NULL AND project_id IS NOT NULL))
        """).fetchall()
    if not hist:
        return
    sessionless = [h for h in hist if h[1] is None]
    sessions = {h[1] for h in hist if h[1] is not None}
    if sessionless:  # the sessions of their projects that were active around them
        for (sid,) in db.execute(f"""
                SELECT DISTINCT s.id FROM sessions s JOIN messages h INDEXED BY messages_history_unlinked
                  ON h.project_id = s.project_id AND h.session_id IS NULL
                 AND h.source_kind = 'history' AND h.linked_uid IS NULL AND h.type = 'user'
                 AND h.ts BETWEEN s.started_at - {LINK_EXACT_MS} AND s.ended_at + {LINK_EXACT_MS}"""):
            sessions.add(sid)
    if not sessions:
        return
    db.execute("CREATE TEMP TABLE IF NOT EXISTS link_ids (id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM link_ids")
    db.executemany("INSERT INTO link_ids VALUES (?)", [(s,) for s in sessions])
    by_session: dict[str, list[Candidate]] = {}
    by_project: dict[int, list[Candidate]] = {}
    used: set[str] = set()
    for uid, sid, pid, ts, content, linked in db.execute("""
            SELECT m.uid, m.session_id, s.project_id, m.ts, m.content, m.linked_uid FROM messages m
            JOIN sessions s ON s.id = m.session_id
            WHERE m.session_id IN (SELECT id FROM link_ids) AND m.ts IS NOT NULL
              AND ((m.source_kind = 'transcript' AND m.is_prompt = 1)
                   -- Claude Code 2.1 writes a local command (/model, /mcp) as a system line
                   OR (m.source_kind = 'transcript' AND m.is_sidechain = 0 AND m.type = 'system'
                       AND m.component = 'Commands')
                   OR m.linked_uid IS NOT NULL)"""):
        if linked:
            used.add(linked)
            continue
        cand = Candidate(ts, uid, sid, link_key(content))
        by_session.setdefault(sid, []).append(cand)
        if pid is not None:
            by_project.setdefault(pid, []).append(cand)
    links = []
    for hid, sid, pid, ts, content in sorted(hist, key=lambda h: h[3]):
        pool = by_session.get(sid, []) if sid is not None else by_project.get(pid, [])
        best = best_match(ts, link_key(content), pool, used)
        if best is not None:
            used.add(best.uid)
            links.append((best.uid, best.session_id, hid))
    db.executemany("UPDATE messages SET linked_uid = ?, session_id = coalesce(session_id, ?)"
                   " WHERE id = ?", links)
    for sid in {s for _, s, _ in links}:
        db.execute("INSERT OR IGNORE INTO dirty_ids VALUES (?)", (sid,))


def _tool_names(db: sqlite3.Connection) -> None:
    """Results read in an earlier run than their call learn the tool's name now (and so what
    they count for). Found with a query, written row by row: only rows that change are
    written (an unchanged one would still be logged for backups), and no UPDATE gathers a
    temp copy of the rows first."""
    db.executemany(
        "UPDATE messages SET tool_name = ?, count_kind = ?, count_name = ? WHERE id = ?",
        [(tool, *counted(type_, comp, bool(is_error), tool), mid)
         for tool, mid, type_, comp, is_error in db.execute(f"""
            SELECT (SELECT u.tool_name FROM messages u WHERE u.session_id = r.session_id
                    AND u.tool_use_id = r.tool_use_id AND u.type = 'tool_use'
                    AND u.tool_name IS NOT NULL LIMIT 1), r.id, r.type, r.component, r.is_error
            FROM messages r WHERE r.{_IN_DIRTY} AND r.tool_name IS NULL
              AND r.tool_use_id IS NOT NULL AND r.type IN ('tool_result', 'tool_output')""")
         if tool])


def _counts(db: sqlite3.Connection) -> None:
    db.execute(f"""
        WITH agg AS (
            SELECT session_id AS id, count(*) AS n, min(ts) AS t0, max(ts) AS t1,
                   sum({PROMPT}) AS prompts, sum(type = 'tool_use') AS tools, sum(is_error) AS errs
            FROM messages WHERE {_IN_DIRTY} AND deleted_at IS NULL GROUP BY session_id)
        UPDATE sessions SET message_count = agg.n, prompt_count = agg.prompts,
               tool_call_count = agg.tools, error_count = agg.errs,
               started_at = coalesce(agg.t0, sessions.started_at),
               ended_at = coalesce(agg.t1, sessions.ended_at)
        FROM agg WHERE sessions.id = agg.id""")
    db.execute(f"""
        WITH u AS (
            SELECT session_id AS id, sum(input_tokens) AS i, sum(output_tokens) AS o,
                   sum(cache_read_tokens) AS r, sum(cache_write_tokens) AS w
            FROM api_usage WHERE {_IN_DIRTY} GROUP BY session_id)
        UPDATE sessions SET input_tokens = u.i, output_tokens = u.o, cache_read_tokens = u.r,
               cache_write_tokens = u.w FROM u WHERE sessions.id = u.id""")


def _titles(db: sqlite3.Connection) -> None:
    """Title, summary, first prompt and model (derive.titles). One pass over the dirty
    sessions' messages."""
    found: dict[str, SessionText] = {}
    types = ", ".join(f"'{t}'" for t in TITLE_TYPES)
    for sid, mtype, content, is_prompt in db.execute(f"""
            SELECT session_id, type, content, ({PROMPT}) FROM messages
            WHERE {_IN_DIRTY} AND content <> '' AND (type IN ({types}) OR ({PROMPT}))
            ORDER BY session_id, ts, id"""):
        found.setdefault(sid, SessionText()).add(mtype, content, bool(is_prompt))
    models: dict[str, Counter[str]] = {}
    for sid, model, n in db.execute(f"""
            SELECT session_id, model, count(*) FROM messages
            WHERE {_IN_DIRTY} AND model IS NOT NULL
            GROUP BY session_id, model"""):
        models.setdefault(sid, Counter())[model] = n
    rows = []
    for (sid,) in db.execute("SELECT id FROM dirty_ids"):
        text = found.get(sid) or SessionText()
        rows.append((text.title, text.summary, text.first_prompt,
                     main_model(models.get(sid, Counter())), sid))
    db.executemany("UPDATE sessions SET title = ?, summary = ?, first_prompt = ?, model = ?"
                   " WHERE id = ?", rows)


def _parents(db: sqlite3.Connection) -> None:
    """A session whose first line continues a message of another session resumed it."""
    db.execute("""
        UPDATE sessions SET parent_session_id = (
            SELECT p.session_id FROM messages p WHERE p.ext_id = sessions.parent_ref
              AND p.session_id <> sessions.id LIMIT 1)
        WHERE id IN (SELECT id FROM dirty_ids) AND parent_ref IS NOT NULL""")
