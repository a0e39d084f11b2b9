"""The report rollups of the SQLite backend (migration 0002), kept fresh per session.

Reports over a million messages must answer in well under a second, so the activity counts
come from rollup tables summed per session, project and UTC day, never from a scan of
`messages`. The rollups are derived: a session is re-rolled from its rows whenever rows past
the watermark belong to it or its derived counts (sessions row) changed, which catches
everything `derive_sessions` rewrites (project backfill, history links, tool names on
results). A time range that does not start and end on whole days is computed exactly
instead, from the rows in range, into temp tables of the same shape; so are the stale
sessions of a store that cannot be written.
"""


from __future__ import annotations

import re
import sqlite3
from typing import Any

from .packing import sid_sql
from .queries import PROMPT

DAY_MS = 86_400_000
IDLE_MS = 30 * 60 * 1000  # a gap longer than this between two lines is idle time, not work
FAR = 1 << 62

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
# messages' and api_usage's session_id is a uuid's 16 bytes (migrations 0027, 0028); the
# rollups keep the text. A scope (on messages and api_usage alike) gives its ids through
# uuid_bytes(...), and text_scope is the same scope for the rollups; rows are read back
# through sid_sql.
_SID = sid_sql("session_id")
_UUID_BYTES = re.compile(r"\buuid_bytes\(([\w.?]+)\)")


def text_scope(scope: str) -> str:
    """A scope on messages or api_usage (uuid_bytes(...) around the ids it compares) for a
    table whose session ids are text (the rollups)."""
    return _UUID_BYTES.sub(r"\1", scope)

_NO_SESSION = ""  # report_sessions key of the rows without a session
_ORPHAN = "-"  # signature of a session that has rows but no sessions row

MAIN = {"days": "report_days", "names": "report_names", "usage": "report_usage",
        "errors": "report_errors"}


# --- building rollups ------------------------------------------------------------------------

def _fill(db: sqlite3.Connection, tables: dict[str, str], scope: str, args: tuple = (),
          lo: int | None = None, hi: int | None = None, only: frozenset[str] = frozenset(MAIN),
          sid: str = _SID) -> None:
    """Aggregate the rows `scope` selects (a WHERE clause on messages: whole sessions) with a
    time in [lo, hi) into the `only` tables of `tables`. A gap counts for its later line, so
    the line before lo is read too. `sid`: how a row's session id is written (the text)."""
    rng = lo is not None or hi is not None
    lo_, hi_ = (-FAR if lo is None else lo), (FAR if hi is None else hi)
    span = "AND ts >= ? AND ts < ?" if rng else ""
    if "days" in only:
        _fill_days(db, tables, scope, args, lo, hi, sid)
    if "names" in only:
        db.execute(f"""
            INSERT INTO {tables['names']} (session_id, project_id, day, kind, name, uses, errors)
            SELECT {sid}, project_id, ts / {DAY_MS}, count_kind, count_name, sum({USES}),
                   sum(is_error)
            FROM messages
            WHERE deleted_at IS NULL AND count_name IS NOT NULL AND ({scope}) {span}
            GROUP BY session_id, project_id, ts / {DAY_MS}, count_kind, count_name""",
                   (*args, lo_, hi_) if rng else args)
    if "errors" in only:
        db.execute(f"""
            INSERT INTO {tables['errors']} (message_id, session_id, project_id, ts, kind, name,
                                            signature)
            SELECT id, {sid}, project_id, ts, coalesce(count_kind, 'other'),
                   coalesce(count_name, type), coalesce(error_signature, '(empty)')
            FROM messages WHERE is_error = 1 AND deleted_at IS NULL AND ({scope}) {span}""",
                   (*args, lo_, hi_) if rng else args)
    if "usage" in only:
        db.execute(f"""
            INSERT INTO {tables['usage']} (session_id, day, model, responses, input_tokens,
                                           output_tokens, cache_read_tokens, cache_write_tokens)
            SELECT {sid}, ts / {DAY_MS}, model, count(*), sum(input_tokens),
                   sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens)
            FROM api_usage WHERE ({scope}) {span}
            GROUP BY session_id, ts / {DAY_MS}, model""", (*args, lo_, hi_) if rng else args)


def _fill_days(db: sqlite3.Connection, tables: dict[str, str], scope: str, args: tuple,
               lo: int | None, hi: int | None, sid: str) -> None:
    rng = lo is not None or hi is not None
    lo_, hi_ = (-FAR if lo is None else lo), (FAR if hi is None else hi)
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
        SELECT {sid}, project_id, ts / {DAY_MS},
               coalesce(sum(CASE WHEN gap <= {IDLE_MS} THEN gap END), 0)
        FROM g {"WHERE ts >= ?" if rng else ""} GROUP BY session_id, project_id, ts / {DAY_MS}""",
               (*args, lo_ - IDLE_MS, hi_, lo_) if rng else args)
    db.execute(f"""
        INSERT INTO {tables['days']} (session_id, project_id, day, messages, prompts, errors,
                                      tool_calls, first_ts, last_ts, active_ms)
        SELECT c.*, coalesce((SELECT g.active_ms FROM temp.report_gaps g
                              WHERE g.session_id = c.sid AND g.day = c.day
                                AND g.project_id IS c.project_id), 0)
        FROM (SELECT {sid} AS sid, project_id, ts / {DAY_MS} AS day, count(*), sum(({PROMPT})),
                     sum(is_error), sum(type = 'tool_use'), min(ts), max(ts)
              FROM messages WHERE deleted_at IS NULL AND ({scope}) {span}
              GROUP BY session_id, project_id, ts / {DAY_MS}) c""",
               (*args, lo_, hi_) if rng else args)


def watermarks(db: sqlite3.Connection) -> tuple[int, int]:
    rows = dict(db.execute("SELECT name, value FROM report_state").fetchall())
    return rows.get("messages", 0), rows.get("api_usage", 0)


# Sessions whose derived counts changed since they were rolled up, or that are gone.
_CHANGED = f"""
    SELECT s.id FROM sessions s LEFT JOIN report_sessions r ON r.session_id = s.id
    WHERE r.signature IS NOT {_SIGNATURE}
    UNION ALL
    SELECT r.session_id FROM report_sessions r
    WHERE r.session_id <> '' AND r.signature <> '{_ORPHAN}'
      AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = r.session_id)"""


def stale_sessions(db: sqlite3.Connection, wm: int, uwm: int) -> set[str | None]:
    """Sessions whose rollups may be out of date (None: the rows without a session)."""
    out: set[str | None] = set()
    # NOT INDEXED: walk the new rows by rowid, not the whole (session_id, ts) index
    for (sid,) in db.execute(f"SELECT DISTINCT {_SID} FROM messages NOT INDEXED WHERE id > ?", (wm,)):
        out.add(sid)
    for (sid,) in db.execute(f"SELECT DISTINCT {_SID} FROM api_usage NOT INDEXED WHERE rowid > ?",
                             (uwm,)):
        out.add(sid)
    for (sid,) in db.execute(_CHANGED):
        out.add(sid)
    return out


def _fresh(db: sqlite3.Connection) -> bool:
    """Whether the rollups are up to date, in one query: on a database server a report's
    every round trip waits for the server's turn on a busy machine (it was six here)."""
    return bool(db.execute(f"""
        SELECT (SELECT coalesce(max(id), 0) FROM messages)
                 = coalesce((SELECT value FROM report_state WHERE name = 'messages'), 0)
           AND (SELECT coalesce(max(rowid), 0) FROM api_usage)
                 = coalesce((SELECT value FROM report_state WHERE name = 'api_usage'), 0)
           AND NOT EXISTS ({_CHANGED})""").fetchone()[0])


def refresh(store: Any) -> int:
    """Bring the rollups up to date; returns the sessions re-rolled (0: nothing to do).

    Cheap when nothing changed (one query: two max() and a join over sessions); the write transaction is
    taken only when there is work. Safe to call from anywhere, any number of times: e.g. at
    the end of `derive_sessions`, so that reports never pay for it.
    """
    if _fresh(store.db):
        return 0
    with store.tx() as db:
        return refresh_in(db)


def refresh_in(db: sqlite3.Connection) -> int:
    """refresh's work, in the caller's write transaction."""
    wm, uwm = watermarks(db)  # another process may have done it while we waited
    top, utop = tops(db)
    if wm == 0 and uwm == 0:  # first build: one pass over everything
        clear(db)
        _fill(db, MAIN, "1")
        none = all_stale(db, _SID)
    else:
        stale = stale_sessions(db, wm, uwm)
        _reroll(db, stale)
        none = None in stale
    return landed(db, none, top, utop)


def tops(db: sqlite3.Connection) -> tuple[int, int]:
    """The last row of messages and of api_usage: the watermarks once rolled up."""
    return (db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0],
            db.execute("SELECT coalesce(max(rowid), 0) FROM api_usage").fetchone()[0])


def rolls(db: sqlite3.Connection) -> tuple[int, int, int]:
    """The watermarks and how many times the rollups were written: what a build made from
    an earlier snapshot checks before it lands (rollups_behind.py)."""
    row = db.execute("SELECT value FROM report_state WHERE name = 'rolls'").fetchone()
    return (*watermarks(db), row[0] if row else 0)


def clear(db: sqlite3.Connection) -> None:
    """Every rollup emptied: a first build replaces them all."""
    for table in (*MAIN.values(), "report_sessions"):
        db.execute(f"DELETE FROM {table}")


def all_stale(db: sqlite3.Connection, sid: str) -> bool:
    """temp.report_stale: every session, for a first build; whether rows without one exist."""
    _stale_table(db, set())
    db.execute(f"INSERT INTO temp.report_stale SELECT {sid} FROM (SELECT DISTINCT session_id FROM"
               " messages WHERE session_id IS NOT NULL) d UNION SELECT id FROM sessions")
    return db.execute("SELECT 1 FROM messages WHERE session_id IS NULL LIMIT 1").fetchone() is not None


def landed(db: sqlite3.Connection, none: bool, top: int, utop: int) -> int:
    """Sign the sessions of temp.report_stale (and `none`: the rows without a session) and
    move the watermarks; returns how many were rolled up."""
    _sign_stale(db, none)
    db.executemany("INSERT INTO report_state VALUES (?, ?) ON CONFLICT(name) DO UPDATE"
                   " SET value = excluded.value", [("messages", top), ("api_usage", utop)])
    return int(db.execute("SELECT count(*) FROM temp.report_stale").fetchone()[0]) + none


def _stale_table(db: sqlite3.Connection, stale: set[str | None]) -> None:
    """temp.report_stale: the ids of these sessions (temp: allowed on a read-only store)."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS report_stale (id TEXT PRIMARY KEY)")
    db.execute("DELETE FROM temp.report_stale")
    db.executemany("INSERT INTO temp.report_stale VALUES (?)", [(s,) for s in stale if s is not None])


def _reroll(db: sqlite3.Connection, stale: set[str | None]) -> None:
    _stale_table(db, stale)
    for table in MAIN.values():
        db.execute(f"DELETE FROM {table} WHERE session_id IN (SELECT id FROM report_stale)")
    _fill(db, MAIN, "session_id IN (SELECT uuid_bytes(id) FROM report_stale)")
    if None in stale:
        for table in MAIN.values():
            db.execute(f"DELETE FROM {table} WHERE session_id IS NULL")
        _fill(db, MAIN, "session_id IS NULL")


def _sign(db: sqlite3.Connection, stale: set[str | None]) -> None:
    """These sessions signed (privacy.py's rerolls)."""
    _stale_table(db, stale)
    _sign_stale(db, None in stale)


def _sign_stale(db: sqlite3.Connection, none: bool) -> None:
    """Each session of temp.report_stale signed with its counts now (a session that has rows
    but no sessions row: _ORPHAN), in one statement; every write of the rollups ends here,
    and counts itself in report_state's 'rolls'."""
    db.execute(f"""
        INSERT INTO report_sessions (session_id, signature)
        SELECT r.id, coalesce((SELECT {_SIGNATURE} FROM sessions s WHERE s.id = r.id), '{_ORPHAN}')
        FROM temp.report_stale r WHERE true
        ON CONFLICT(session_id) DO UPDATE SET signature = excluded.signature""")
    if none:
        db.execute("INSERT INTO report_sessions (session_id, signature) VALUES (?, ?)"
                   " ON CONFLICT(session_id) DO UPDATE SET signature = excluded.signature",
                   (_NO_SESSION, _ORPHAN))
    db.execute("INSERT INTO report_state VALUES ('rolls', 1) ON CONFLICT(name) DO UPDATE"
               " SET value = report_state.value + 1")


def exact_table(db: sqlite3.Connection, key: str, since: int | None, until: int | None,
                stale: set[str | None] | None = None) -> str:
    """The `key` rollup (days, names, errors, usage) of [since, until) in a temp table: the
    stored rows of the whole days inside, plus the partial days at either end computed from
    their rows now. `stale`: sessions whose stored rollups are out of date (None: the rows
    without a session), on a store that cannot be written: computed from their rows too."""
    main, table = MAIN[key], f"temp.x_{MAIN[key]}"
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"CREATE TEMP TABLE x_{main} AS SELECT * FROM {main} WHERE 0")
    tables = {key: table}
    only = frozenset((key,))
    lo = -(-since // DAY_MS) if since is not None else None  # first whole day
    hi = until // DAY_MS if until is not None else None  # first day not whole
    if lo is not None and hi is not None and lo >= hi:
        _pieces(db, tables, key, since, until)  # within one day
        return table
    col = "day" if key != "errors" else f"ts / {DAY_MS}"
    conds = [c for c in (lo is not None and f"{col} >= ?", hi is not None and f"{col} < ?") if c]
    if stale:
        _stale_table(db, stale)
        conds.append("session_id IS NOT NULL AND session_id NOT IN (SELECT id FROM temp.report_stale)"
                     if None in stale else
                     "(session_id IS NULL OR session_id NOT IN (SELECT id FROM temp.report_stale))")
        lo_ms = lo * DAY_MS if lo is not None else None
        hi_ms = hi * DAY_MS if hi is not None else None
        _fill(db, tables, "session_id IN (SELECT uuid_bytes(id) FROM temp.report_stale)", (), lo_ms, hi_ms,
              only)
        if None in stale:
            _fill(db, tables, "session_id IS NULL", (), lo_ms, hi_ms, only)
    db.execute(f"INSERT INTO {table} SELECT * FROM {main} WHERE {' AND '.join(conds) or '1'}",
               tuple(v for v in (lo, hi) if v is not None))
    if since is not None and lo is not None and since % DAY_MS:
        _pieces(db, tables, key, since, lo * DAY_MS)
    if until is not None and hi is not None and until % DAY_MS:
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
        lo_, hi_ = (-FAR if lo is None else lo), (FAR if hi is None else hi)
        _fill(db, tables, "session_id IN (SELECT uuid_bytes(id) FROM sessions WHERE started_at < ?"
              " AND ended_at >= ?)", (hi_, lo_), lo, hi, only=only)
        _fill(db, tables, "session_id IS NULL", (), lo, hi, only=only)
