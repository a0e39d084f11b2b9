"""Report SQL of the SQLite backend: rollups kept fresh per session, and the named queries
the report builders ask for through `Store.report_rows(query, filters)`.

Reports over a million messages must answer in well under a second, so the activity counts
come from rollup tables (migration 0002) summed per session, project and UTC day, never
from a scan of `messages`. The rollups are derived: a session is re-rolled from its rows
whenever rows past the watermark belong to it or its derived counts (sessions row) changed,
which catches everything `derive_sessions` rewrites (project backfill, history links, tool
names on results). A time range that does not start and end on whole days is computed
exactly instead, from the rows in range, into temp tables of the same shape.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ...derive.signatures import HEAD
from ...errors import MemoryError_
from .queries import PROMPT

DAY_MS = 86_400_000
IDLE_MS = 30 * 60 * 1000  # a gap longer than this between two lines is idle time, not work
_FAR = 1 << 62
CHECK_EVERY = 2.0  # seconds: the queries of one report share one freshness check

# A row counts as a use of its name (derive.counting) when it names a component or calls a tool.
USES = "(count_kind = 'component' OR type = 'tool_use')"
# Lines of a conversation log (not whole files, whose time is a file's mtime): the gaps
# between them measure the time a session was worked in; a gap counts for its later line.
CONVERSATION = ("(session_id IS NOT NULL AND ts IS NOT NULL AND source_line IS NOT NULL"
                " AND source_kind IN ('transcript', 'history', 'import'))")
_SIGNATURE = ("s.dirty || ':' || s.message_count || ':' || s.prompt_count || ':' || s.error_count"
              " || ':' || s.tool_call_count || ':' || s.input_tokens || ':' || s.output_tokens"
              " || ':' || s.cache_read_tokens || ':' || s.cache_write_tokens || ':'"
              " || coalesce(s.project_id, '') || ':' || coalesce(s.started_at, '') || ':'"
              " || coalesce(s.ended_at, '')")
_NO_SESSION = ""  # report_sessions key of the rows without a session
_ORPHAN = "-"  # signature of a session that has rows but no sessions row

MAIN = {"days": "report_days", "names": "report_names", "usage": "report_usage",
        "errors": "report_errors"}


# --- building rollups ------------------------------------------------------------------------

def _fill(db: sqlite3.Connection, tables: dict[str, str], scope: str, args: tuple = (),
          lo: int | None = None, hi: int | None = None, only: frozenset[str] = frozenset(MAIN)) -> None:
    """Aggregate the rows `scope` selects (a WHERE clause on messages: whole sessions) with a
    time in [lo, hi) into the `only` tables of `tables`. A gap counts for its later line, so
    the line before lo is read too."""
    rng = lo is not None or hi is not None
    lo_, hi_ = (-_FAR if lo is None else lo), (_FAR if hi is None else hi)
    span = "AND ts >= ? AND ts < ?" if rng else ""
    if "days" in only:
        _fill_days(db, tables, scope, args, lo, hi)
    if "names" in only:
        db.execute(f"""
            INSERT INTO {tables['names']} (session_id, project_id, day, kind, name, uses, errors)
            SELECT session_id, project_id, ts / {DAY_MS}, kind, name, sum(uses), sum(is_error)
            FROM (SELECT session_id, project_id, ts, is_error, count_kind AS kind,
                         count_name AS name, {USES} AS uses
                  FROM messages WHERE deleted_at IS NULL AND ({scope}) {span})
            WHERE name IS NOT NULL
            GROUP BY session_id, project_id, ts / {DAY_MS}, kind, name""",
                   (*args, lo_, hi_) if rng else args)
    if "errors" in only:
        db.execute(f"""
            INSERT INTO {tables['errors']} (message_id, session_id, project_id, ts, kind, name,
                                            signature)
            SELECT id, session_id, project_id, ts, coalesce(count_kind, 'other'),
                   coalesce(count_name, type), coalesce(error_signature, '(empty)')
            FROM messages WHERE is_error = 1 AND deleted_at IS NULL AND ({scope}) {span}""",
                   (*args, lo_, hi_) if rng else args)
    if "usage" in only:
        db.execute(f"""
            INSERT INTO {tables['usage']} (session_id, day, model, responses, input_tokens,
                                           output_tokens, cache_read_tokens, cache_write_tokens)
            SELECT session_id, ts / {DAY_MS}, model, count(*), sum(input_tokens),
                   sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens)
            FROM api_usage WHERE ({scope}) {span}
            GROUP BY session_id, ts / {DAY_MS}, model""", (*args, lo_, hi_) if rng else args)


def _fill_days(db: sqlite3.Connection, tables: dict[str, str], scope: str, args: tuple,
               lo: int | None, hi: int | None) -> None:
    rng = lo is not None or hi is not None
    lo_, hi_ = (-_FAR if lo is None else lo), (_FAR if hi is None else hi)
    span = "AND ts >= ? AND ts < ?" if rng else ""
    # Gaps first, over conversation lines only, in (session_id, ts) index order: no sort.
    db.execute("CREATE TEMP TABLE IF NOT EXISTS report_gaps (session_id TEXT, project_id INTEGER,"
               " day INTEGER, active_ms INTEGER, PRIMARY KEY (session_id, day, project_id))")
    db.execute("DELETE FROM temp.report_gaps")
    db.execute(f"""
        INSERT INTO temp.report_gaps
        WITH g AS (
            SELECT session_id, project_id, ts,
                   ts - lag(ts) OVER (PARTITION BY session_id ORDER BY ts) AS gap
            FROM messages WHERE deleted_at IS NULL AND {CONVERSATION} AND ({scope}) {span})
        SELECT session_id, project_id, ts / {DAY_MS},
               coalesce(sum(CASE WHEN gap <= {IDLE_MS} THEN gap END), 0)
        FROM g {"WHERE ts >= ?" if rng else ""} GROUP BY session_id, project_id, ts / {DAY_MS}""",
               (*args, lo_ - IDLE_MS, hi_, lo_) if rng else args)
    db.execute(f"""
        INSERT INTO {tables['days']} (session_id, project_id, day, messages, prompts, errors,
                                      tool_calls, first_ts, last_ts, active_ms)
        SELECT c.*, coalesce((SELECT g.active_ms FROM temp.report_gaps g
                              WHERE g.session_id = c.session_id AND g.day = c.day
                                AND g.project_id IS c.project_id), 0)
        FROM (SELECT session_id, project_id, ts / {DAY_MS} AS day, count(*), sum(({PROMPT})),
                     sum(is_error), sum(type = 'tool_use'), min(ts), max(ts)
              FROM messages WHERE deleted_at IS NULL AND ({scope}) {span}
              GROUP BY session_id, project_id, ts / {DAY_MS}) c""",
               (*args, lo_, hi_) if rng else args)


def _state(db: sqlite3.Connection) -> tuple[int, int]:
    rows = dict(db.execute("SELECT name, value FROM report_state").fetchall())
    return rows.get("messages", 0), rows.get("api_usage", 0)


def _stale_sessions(db: sqlite3.Connection, wm: int, uwm: int) -> set[str | None]:
    """Sessions whose rollups may be out of date (None: the rows without a session)."""
    out: set[str | None] = set()
    # NOT INDEXED: walk the new rows by rowid, not the whole (session_id, ts) index
    for (sid,) in db.execute("SELECT DISTINCT session_id FROM messages NOT INDEXED WHERE id > ?", (wm,)):
        out.add(sid)
    for (sid,) in db.execute("SELECT DISTINCT session_id FROM api_usage NOT INDEXED WHERE rowid > ?",
                             (uwm,)):
        out.add(sid)
    for (sid,) in db.execute(f"""
            SELECT s.id FROM sessions s LEFT JOIN report_sessions r ON r.session_id = s.id
            WHERE r.signature IS NOT {_SIGNATURE}
            UNION ALL
            SELECT r.session_id FROM report_sessions r
            WHERE r.session_id <> '' AND r.signature <> '{_ORPHAN}'
              AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = r.session_id)"""):
        out.add(sid)
    return out


def refresh(store: Any) -> int:
    """Bring the rollups up to date; returns the sessions re-rolled (0: nothing to do).

    Cheap when nothing changed (two max() and a join over sessions); the write transaction is
    taken only when there is work. Safe to call from anywhere, any number of times: e.g. at
    the end of `derive_sessions`, so that reports never pay for it.
    """
    db = store.db
    wm, uwm = _state(db)
    top = db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
    utop = db.execute("SELECT coalesce(max(rowid), 0) FROM api_usage").fetchone()[0]
    if top == wm and utop == uwm and not _stale_sessions(db, wm, uwm):
        return 0
    with store.tx() as db:
        wm, uwm = _state(db)  # another process may have done it while we waited
        top = db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
        utop = db.execute("SELECT coalesce(max(rowid), 0) FROM api_usage").fetchone()[0]
        if wm == 0 and uwm == 0:  # first build: one pass over everything
            for table in (*MAIN.values(), "report_sessions"):
                db.execute(f"DELETE FROM {table}")
            _fill(db, MAIN, "1")
            stale: set[str | None] = {r[0] for r in db.execute(
                "SELECT DISTINCT session_id FROM messages UNION SELECT id FROM sessions")}
        else:
            stale = _stale_sessions(db, wm, uwm)
            _reroll(db, stale)
        _sign(db, stale)
        db.executemany("INSERT INTO report_state VALUES (?, ?) ON CONFLICT(name) DO UPDATE"
                       " SET value = excluded.value", [("messages", top), ("api_usage", utop)])
        return len(stale)


def _reroll(db: sqlite3.Connection, stale: set[str | None]) -> None:
    db.execute("CREATE TEMP TABLE IF NOT EXISTS report_stale (id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM report_stale")
    db.executemany("INSERT INTO report_stale VALUES (?)", [(s,) for s in stale if s is not None])
    for table in MAIN.values():
        db.execute(f"DELETE FROM {table} WHERE session_id IN (SELECT id FROM report_stale)")
    _fill(db, MAIN, "session_id IN (SELECT id FROM report_stale)")
    if None in stale:
        for table in MAIN.values():
            db.execute(f"DELETE FROM {table} WHERE session_id IS NULL")
        _fill(db, MAIN, "session_id IS NULL")


def _sign(db: sqlite3.Connection, stale: set[str | None]) -> None:
    rows = []
    for sid in stale:
        if sid is None:
            rows.append((_NO_SESSION, _ORPHAN))
            continue
        sig = db.execute(f"SELECT {_SIGNATURE} FROM sessions s WHERE s.id = ?", (sid,)).fetchone()
        rows.append((sid, sig[0] if sig else _ORPHAN))
    db.executemany("INSERT INTO report_sessions VALUES (?, ?) ON CONFLICT(session_id) DO UPDATE"
                   " SET signature = excluded.signature", rows)


def exact_table(db: sqlite3.Connection, key: str, since: int | None, until: int | None,
                use_rollups: bool) -> str:
    """The `key` rollup (days, names, errors, usage) of [since, until) in a temp table, for
    bounds that are not whole UTC days: the stored rows of the whole days inside, plus the
    partial days at either end computed from their rows now. Without usable rollups (a
    busy or read-only store) everything in range is computed from the rows."""
    main, table = MAIN[key], f"temp.x_{MAIN[key]}"
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"CREATE TEMP TABLE x_{main} AS SELECT * FROM {main} WHERE 0")
    tables = {key: table}
    lo = -(-since // DAY_MS) if since is not None else None  # first whole day
    hi = until // DAY_MS if until is not None else None  # first day not whole
    if not use_rollups or (lo is not None and hi is not None and lo >= hi):
        _pieces(db, tables, key, since, until)  # everything, or within one day
        return table
    col = "day" if key != "errors" else f"ts / {DAY_MS}"
    cond = " AND ".join(c for c in (lo is not None and f"{col} >= ?",
                                    hi is not None and f"{col} < ?") if c)
    db.execute(f"INSERT INTO {table} SELECT * FROM {main} WHERE {cond}",
               tuple(v for v in (lo, hi) if v is not None))
    if since is not None and since % DAY_MS:
        _pieces(db, tables, key, since, lo * DAY_MS)
    if until is not None and until % DAY_MS:
        _pieces(db, tables, key, hi * DAY_MS, until)
    return table


def _pieces(db: sqlite3.Connection, tables: dict[str, str], key: str, lo: int | None,
            hi: int | None) -> None:
    """The `key` rollup of the rows in [lo, hi): sessions overlapping it, rows without one."""
    only = frozenset((key,))
    if lo is None and hi is None:
        _fill(db, tables, "1", only=only)
    elif key == "usage":
        _fill(db, tables, "1", (), lo, hi, only=only)  # api_usage has its own ts index
    else:
        lo_, hi_ = (-_FAR if lo is None else lo), (_FAR if hi is None else hi)
        _fill(db, tables, "session_id IN (SELECT id FROM sessions WHERE started_at < ?"
              " AND ended_at >= ?)", (hi_, lo_), lo, hi, only=only)
        _fill(db, tables, "session_id IS NULL", (), lo, hi, only=only)


# --- reading ------------------------------------------------------------------------------

class _Where:
    """WHERE clauses of the filters, over one table alias."""

    def __init__(self, filters: dict[str, Any], day_col: str, project_col: str | None) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []
        since, until = filters.get("since"), filters.get("until")
        if since is not None:
            self.parts.append(f"{day_col} >= ?")
            self.args.append(since // DAY_MS)
        if until is not None:
            self.parts.append(f"{day_col} < ?")
            self.args.append(-(-until // DAY_MS))
        ids = filters.get("project_ids")
        if ids is not None and project_col:
            self.parts.append(f"{project_col} IN ({', '.join('?' * len(ids))})")
            self.args.extend(ids)

    def sql(self, lead: str = "WHERE") -> str:
        return f"{lead} {' AND '.join(self.parts)}" if self.parts else ""


def _rows(db: sqlite3.Connection, sql: str, args: list | tuple = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute(sql, args)]


def projects(db, t, f) -> list[dict[str, Any]]:
    """Projects whose path or name is filters['project'] (all projects without one)."""
    p = f.get("project")
    if p is None:
        return _rows(db, "SELECT id, path, name FROM projects ORDER BY path")
    return _rows(db, "SELECT id, path, name FROM projects WHERE path = ? OR name = ?"
                 " OR rtrim(path, '/') = rtrim(?, '/') ORDER BY path", (p, p, p))


def project_activity(db, t, f) -> list[dict[str, Any]]:
    w = _Where(f, "h.day", "h.project_id")
    return _rows(db, f"""
        SELECT h.project_id, p.path AS project, p.name AS project_name,
               count(DISTINCT h.session_id) AS sessions, sum(h.messages) AS messages,
               sum(h.prompts) AS prompts, sum(h.errors) AS errors, sum(h.tool_calls) AS tool_calls,
               min(h.first_ts) AS first_ts, max(h.last_ts) AS last_ts,
               count(DISTINCT h.day) AS active_days, sum(h.active_ms) AS active_ms
        FROM {t['days']} h LEFT JOIN projects p ON p.id = h.project_id {w.sql()}
        GROUP BY h.project_id ORDER BY sum(h.active_ms) DESC, sum(h.messages) DESC""", w.args)


_USAGE_KEYS = {
    "day": ("u.day", "u.day IS NOT NULL"),
    "model": ("NULL", "1"),
    "project": ("s.project_id", "1"),
    "session": ("u.session_id", "1"),
    "total": ("NULL", "1"),
}


def usage(db, t, f) -> list[dict[str, Any]]:
    """Tokens per (key, model); key by filters['by']: day, model, project, session, total."""
    key, cond = _USAGE_KEYS[f.get("by") or "day"]
    w = _Where(f, "u.day", "s.project_id")
    extra = f"{w.sql('AND')}"
    return _rows(db, f"""
        SELECT {key} AS key, u.model, sum(u.responses) AS responses,
               sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens,
               sum(u.cache_read_tokens) AS cache_read_tokens,
               sum(u.cache_write_tokens) AS cache_write_tokens,
               min(u.day) AS first_day, max(u.day) AS last_day
        FROM {t['usage']} u LEFT JOIN sessions s ON s.id = u.session_id
        WHERE {cond} {extra}
        GROUP BY {key}, u.model ORDER BY {key}, u.model""", w.args)


def timeline(db, t, f) -> list[dict[str, Any]]:
    w = _Where(f, "h.day", "h.project_id")
    return _rows(db, f"""
        SELECT h.day AS day, h.project_id, p.path AS project, p.name AS project_name,
               count(DISTINCT h.session_id) AS sessions, sum(h.messages) AS messages,
               sum(h.prompts) AS prompts, sum(h.errors) AS errors, sum(h.tool_calls) AS tool_calls,
               min(h.first_ts) AS first_ts, max(h.last_ts) AS last_ts, sum(h.active_ms) AS active_ms
        FROM {t['days']} h LEFT JOIN projects p ON p.id = h.project_id
        WHERE h.day IS NOT NULL {w.sql('AND')}
        GROUP BY h.day, h.project_id ORDER BY day, p.path""", w.args)


def timeline_names(db, t, f) -> list[dict[str, Any]]:
    w = _Where(f, "n.day", "n.project_id")
    return _rows(db, f"""
        SELECT n.day AS day, n.project_id, n.kind, n.name, sum(n.uses) AS uses,
               sum(n.errors) AS errors
        FROM {t['names']} n WHERE n.day IS NOT NULL {w.sql('AND')}
        GROUP BY n.day, n.project_id, n.kind, n.name
        ORDER BY day, n.project_id, sum(n.uses) DESC""", w.args)


def day_sessions(db, t, f) -> list[dict[str, Any]]:
    """Per (day, project, session): the session's share of the day, its title and first prompt."""
    w = _Where(f, "h.day", "h.project_id")
    return _rows(db, f"""
        SELECT h.day AS day, h.project_id, p.path AS project, p.name AS project_name,
               h.session_id, s.title, s.first_prompt, s.started_at, s.ended_at, s.git_branch,
               s.model, sum(h.messages) AS messages, sum(h.prompts) AS prompts,
               sum(h.errors) AS errors, sum(h.tool_calls) AS tool_calls,
               min(h.first_ts) AS first_ts, max(h.last_ts) AS last_ts, sum(h.active_ms) AS active_ms
        FROM {t['days']} h LEFT JOIN projects p ON p.id = h.project_id
        LEFT JOIN sessions s ON s.id = h.session_id
        WHERE h.day IS NOT NULL AND h.session_id IS NOT NULL {w.sql('AND')}
        GROUP BY h.day, h.project_id, h.session_id ORDER BY day, first_ts""", w.args)


def day_session_names(db, t, f) -> list[dict[str, Any]]:
    w = _Where(f, "n.day", "n.project_id")
    return _rows(db, f"""
        SELECT n.day AS day, n.session_id, n.kind, n.name, sum(n.uses) AS uses,
               sum(n.errors) AS errors
        FROM {t['names']} n WHERE n.day IS NOT NULL AND n.session_id IS NOT NULL {w.sql('AND')}
        GROUP BY n.day, n.session_id, n.kind, n.name ORDER BY sum(n.uses) DESC""", w.args)


def component_usage(db, t, f) -> list[dict[str, Any]]:
    w = _Where(f, "n.day", "n.project_id")
    return _rows(db, f"""
        SELECT n.kind, n.name, sum(n.uses) AS uses, sum(n.errors) AS errors,
               count(DISTINCT n.session_id) AS sessions, count(DISTINCT n.day) AS active_days,
               count(DISTINCT n.project_id) AS projects
        FROM {t['names']} n {w.sql()}
        GROUP BY n.kind, n.name ORDER BY sum(n.uses) DESC, n.name""", w.args)


def daily(db, t, f) -> list[dict[str, Any]]:
    """Per day: messages, errors, active time (the chart of activity over time)."""
    w = _Where(f, "h.day", "h.project_id")
    return _rows(db, f"""
        SELECT h.day AS day, sum(h.messages) AS messages, sum(h.prompts) AS prompts,
               sum(h.errors) AS errors, sum(h.active_ms) AS active_ms,
               count(DISTINCT h.session_id) AS sessions
        FROM {t['days']} h WHERE h.day IS NOT NULL {w.sql('AND')}
        GROUP BY h.day ORDER BY day""", w.args)


def _error_where(f: dict[str, Any]) -> tuple[str, list[Any]]:
    """Error rows carry their own time: the bounds apply exactly, whatever they are."""
    parts, args = ["1"], []
    for key, cond in (("since", "e.ts >= ?"), ("until", "e.ts < ?"), ("session_id", "e.session_id = ?")):
        if f.get(key) is not None:
            parts.append(cond)
            args.append(f[key])
    if f.get("project_ids") is not None:
        parts.append(f"e.project_id IN ({', '.join('?' * len(f['project_ids']))})")
        args.extend(f["project_ids"])
    return " AND ".join(parts), args


def error_groups(db, t, f) -> list[dict[str, Any]]:
    """Errors per (component or tool, project): how many, how spread, how many kinds."""
    where, args = _error_where(f)
    return _rows(db, f"""
        SELECT e.kind, e.name, e.project_id, p.path AS project, p.name AS project_name,
               count(*) AS errors, count(DISTINCT e.session_id) AS sessions,
               count(DISTINCT e.ts / {DAY_MS}) AS days, min(e.ts) AS first_ts, max(e.ts) AS last_ts,
               count(DISTINCT e.signature) AS signatures
        FROM {t['errors']} e LEFT JOIN projects p ON p.id = e.project_id WHERE {where}
        GROUP BY e.kind, e.name, e.project_id ORDER BY count(*) DESC, e.name, p.path""", args)


def error_signatures(db, t, f) -> list[dict[str, Any]]:
    """Errors per (component or tool, project, signature), with one example's id."""
    where, args = _error_where(f)
    return _rows(db, f"""
        SELECT e.kind, e.name, e.project_id, e.signature, count(*) AS errors,
               count(DISTINCT e.session_id) AS sessions, min(e.ts) AS first_ts,
               max(e.ts) AS last_ts, min(e.message_id) AS sample_id
        FROM {t['errors']} e WHERE {where}
        GROUP BY e.kind, e.name, e.project_id, e.signature ORDER BY count(*) DESC""", args)


def errors(db, t, f) -> list[dict[str, Any]]:
    """Error rows with their text and provenance: those of filters['ids'], else every one in
    range (for a session or a day; error-analysis reads the grouped queries)."""
    where, args = _error_where(f)
    if f.get("ids") is not None:
        where = f"e.message_id IN ({', '.join('?' * len(f['ids']))})"
        args = list(f["ids"])
    return _rows(db, f"""
        SELECT m.uid, e.message_id, e.session_id, e.project_id, p.path AS project,
               p.name AS project_name, e.ts, e.kind, e.name, e.signature, m.type, m.source_kind,
               m.level, m.tool_name, substr(m.content, 1, {HEAD}) AS content,
               sf.path AS source_file, m.source_line
        FROM {t['errors']} e JOIN messages m ON m.id = e.message_id
        LEFT JOIN projects p ON p.id = e.project_id
        LEFT JOIN source_files sf ON sf.id = m.source_file_id
        WHERE {where} ORDER BY e.ts, e.message_id""", args)


def session_usage(db, t, f) -> list[dict[str, Any]]:
    return _rows(db, """
        SELECT model, count(*) AS responses, sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens, sum(cache_read_tokens) AS cache_read_tokens,
               sum(cache_write_tokens) AS cache_write_tokens
        FROM api_usage WHERE session_id = ? GROUP BY model ORDER BY count(*) DESC""",
                 (f["session_id"],))


def session_names(db, t, f) -> list[dict[str, Any]]:
    return _rows(db, f"""
        SELECT kind, name, sum(uses) AS uses, sum(is_error) AS errors
        FROM (SELECT is_error, count_kind AS kind, count_name AS name, {USES} AS uses
              FROM messages WHERE session_id = ? AND deleted_at IS NULL)
        WHERE name IS NOT NULL GROUP BY kind, name ORDER BY sum(uses) DESC""", (f["session_id"],))


def session_activity(db, t, f) -> list[dict[str, Any]]:
    """The session's conversation-line gaps of at most IDLE_MS, summed (its working time)."""
    return _rows(db, f"""
        WITH g AS (SELECT ts - lag(ts) OVER (ORDER BY ts) AS gap FROM messages
                   WHERE session_id = ? AND deleted_at IS NULL AND {CONVERSATION})
        SELECT coalesce(sum(CASE WHEN gap <= {IDLE_MS} THEN gap END), 0) AS active_ms,
               count(*) + 0 AS lines FROM g""", (f["session_id"],))


def session_files(db, t, f) -> list[dict[str, Any]]:
    """Files with versions in file-history (what Claude Code backed up before editing)."""
    return _rows(db, """
        WITH v AS (SELECT json_extract(metadata, '$.file_key') AS k, count(*) AS n FROM messages
                   WHERE session_id = ? AND source_kind = 'file_history' GROUP BY k)
        SELECT fb.path, coalesce(sum(v.n), 0) AS versions
        FROM file_backups fb LEFT JOIN v ON v.k = fb.backup_name
        WHERE fb.session_id = ? GROUP BY fb.path ORDER BY fb.path""",
                 (f["session_id"], f["session_id"]))


def prompts(db, t, f) -> list[dict[str, Any]]:
    """Human prompts of the sessions in filters['session_ids'] within [since, until)."""
    ids = f.get("session_ids") or []
    if not ids:
        return []
    return _rows(db, f"""
        SELECT session_id, ts, content FROM messages
        WHERE session_id IN ({', '.join('?' * len(ids))}) AND ts >= ? AND ts < ?
          AND deleted_at IS NULL AND ({PROMPT}) AND content <> ''
        ORDER BY session_id, ts, id""", (*ids, f.get("since") or 0, f.get("until") or (1 << 62)))


def runs(db, t, f) -> list[dict[str, Any]]:
    return _rows(db, "SELECT id AS run_id, started_at, finished_at, status, root, format,"
                 " files_seen, files_changed, files_unknown, bytes_read, messages_read,"
                 " messages_new, duplicates, errors, message FROM extraction_runs ORDER BY id")


def run_kinds(db, t, f) -> list[dict[str, Any]]:
    """What each run read, per source kind."""
    return _rows(db, """
        SELECT r.run_id, sf.kind, count(*) AS files, sum(r.bytes_read) AS bytes_read,
               sum(r.messages_read) AS messages_read, sum(r.messages_new) AS messages_new,
               sum(r.errors) AS errors
        FROM run_files r JOIN source_files sf ON sf.id = r.source_file_id
        GROUP BY r.run_id, sf.kind ORDER BY r.run_id, sf.kind""")


def run_issues(db, t, f) -> list[dict[str, Any]]:
    return _rows(db, "SELECT run_id, severity, count(*) AS issues FROM ingest_errors"
                 " GROUP BY run_id, severity ORDER BY run_id")


def source_kinds(db, t, f) -> list[dict[str, Any]]:
    return _rows(db, """
        SELECT kind, count(*) AS files, coalesce(sum(size), 0) AS bytes,
               coalesce(sum(bytes_consumed), 0) AS bytes_consumed,
               sum(size IS NOT NULL AND bytes_consumed >= size) AS complete,
               sum(errors > 0) AS files_with_errors, coalesce(sum(errors), 0) AS errors,
               sum(partial_tail) AS partial, sum(missing_since IS NOT NULL) AS missing,
               coalesce(sum(messages), 0) AS messages
        FROM source_files GROUP BY kind ORDER BY kind""")


def source_files(db, t, f) -> list[dict[str, Any]]:
    """Per source file coverage; only files not wholly read or with errors unless 'all'."""
    where = "" if f.get("all") else (
        "WHERE kind NOT IN ('unknown', 'not_read') AND (size IS NULL OR bytes_consumed < size"
        " OR errors > 0 OR partial_tail = 1 OR missing_since IS NOT NULL)")
    return _rows(db, f"""
        SELECT root, path, kind, size, bytes_consumed, lines_consumed, messages, errors, last_error,
               partial_tail, missing_since, last_run_id
        FROM source_files {where} ORDER BY errors DESC, path""")


QUERIES: dict[str, Callable[[sqlite3.Connection, dict[str, str], dict[str, Any]], list[dict]]] = {
    "projects": projects,
    "project_activity": project_activity,
    "usage": usage,
    "timeline": timeline,
    "timeline_names": timeline_names,
    "day_sessions": day_sessions,
    "day_session_names": day_session_names,
    "component_usage": component_usage,
    "daily": daily,
    "errors": errors,
    "error_groups": error_groups,
    "error_signatures": error_signatures,
    "session_usage": session_usage,
    "session_names": session_names,
    "session_activity": session_activity,
    "session_files": session_files,
    "prompts": prompts,
    "runs": runs,
    "run_kinds": run_kinds,
    "run_issues": run_issues,
    "source_kinds": source_kinds,
    "source_files": source_files,
}
# The rollup each query reads (the others read the base tables).
NEEDS = {"project_activity": "days", "timeline": "days", "day_sessions": "days", "daily": "days",
         "timeline_names": "names", "day_session_names": "names", "component_usage": "names",
         "usage": "usage", "errors": "errors", "error_groups": "errors",
         "error_signatures": "errors"}


def aligned(filters: dict[str, Any]) -> bool:
    """Whether the stored rollups answer these bounds as they are (whole UTC days)."""
    return all(filters.get(k) is None or filters[k] % DAY_MS == 0 for k in ("since", "until"))


def report_rows(store: Any, query: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the named query; activity queries read rollups brought up to date first, or, for
    bounds that are not whole days or a store that cannot be written, exact temp rollups."""
    fn = QUERIES.get(query)
    if fn is None:
        raise KeyError(f"no report query {query!r}; known: {', '.join(sorted(QUERIES))}")
    tables = MAIN
    if query in NEEDS:
        tables = _tables(store, filters, NEEDS[query])
    return fn(store.db, tables, filters)


def _tables(store: Any, filters: dict[str, Any], needs: str) -> dict[str, str]:
    """Where the query reads: the stored rollups when up to date and the bounds are whole
    days (or exact anyway: errors carry their time), else a temp table for this range."""
    since, until = filters.get("since"), filters.get("until")
    fresh = True
    if time.monotonic() - getattr(store, "_report_checked", -CHECK_EVERY) >= CHECK_EVERY:
        try:
            refresh(store)
            store._report_checked = time.monotonic()
        except (sqlite3.OperationalError, MemoryError_):
            fresh = False  # a read-only or busy store: compute the range from the rows instead
    if fresh and (needs == "errors" or aligned(filters)):
        return MAIN
    key = (since, until, fresh, store.db.execute("SELECT max(id) FROM messages").fetchone()[0])
    cached = getattr(store, "_report_exact", None)
    if not cached or cached[0] != key:
        cached = store._report_exact = (key, {})
    if needs not in cached[1]:
        cached[1][needs] = exact_table(store.db, needs, since, until, use_rollups=fresh)
    return {**MAIN, needs: cached[1][needs]}


class SQLiteReports:
    # Provided by SQLiteStore: this thread's connection, a write transaction.
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def report_rows(self, query: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return report_rows(self, query, filters)
