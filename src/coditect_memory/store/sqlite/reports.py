"""Report SQL of the SQLite backend: the typed queries of `ReportStore`, over the rollups
(rollups.py: stored, or exact temp tables for ranges that are not whole days and for stale
sessions of a store that cannot be written)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ...derive.signatures import HEAD
from ...errors import MemoryError_
from ..protocol.reports import (
    ComponentUseRow,
    DailyRow,
    DayNameRow,
    DaySessionNameRow,
    DaySessionRow,
    ErrorGroupRow,
    ErrorRow,
    ErrorSignatureRow,
    FileVersionsRow,
    ModelUsageRow,
    NameUseRow,
    ProjectActivityRow,
    ProjectRow,
    PromptRow,
    ReportStore,
    RunIssuesRow,
    RunKindRow,
    RunRow,
    SourceFileRow,
    SourceKindRow,
    TimelineRow,
    UsageKey,
    UsageRow,
    Where,
)
from .packing import CONTENT, sid_in, sid_sql, uid_sql
from .queries import PROMPT
from .rollups import (
    CONVERSATION,
    DAY_MS,
    FAR,
    IDLE_MS,
    MAIN,
    USES,
    exact_table,
    refresh,
    stale_sessions,
    watermarks,
)

CHECK_EVERY = 2.0  # seconds: the queries of one report share one freshness check


class _Where:
    """WHERE clauses of the filters, over one table alias (days: whole UTC days)."""

    def __init__(self, where: Where, day_col: str, project_col: str | None) -> None:
        self.parts: list[str] = []
        self.args: list[Any] = []
        if where.since is not None:
            self.parts.append(f"{day_col} >= ?")
            self.args.append(where.since // DAY_MS)
        if where.until is not None:
            self.parts.append(f"{day_col} < ?")
            self.args.append(-(-where.until // DAY_MS))
        if where.project_ids is not None and project_col:
            self.parts.append(f"{project_col} IN ({', '.join('?' * len(where.project_ids))})")
            self.args.extend(where.project_ids)

    def sql(self, lead: str = "WHERE") -> str:
        return f"{lead} {' AND '.join(self.parts)}" if self.parts else ""


def _error_where(where: Where, session_id: str | None = None) -> tuple[str, list[Any]]:
    """Error rows carry their own time: the bounds apply exactly, whatever they are."""
    parts, args = ["1"], []
    for value, cond in ((where.since, "e.ts >= ?"), (where.until, "e.ts < ?"),
                        (session_id, "e.session_id = ?")):
        if value is not None:
            parts.append(cond)
            args.append(value)
    if where.project_ids is not None:
        parts.append(f"e.project_id IN ({', '.join('?' * len(where.project_ids))})")
        args.extend(where.project_ids)
    return " AND ".join(parts), args


_USAGE_KEYS = {
    "day": ("u.day", "u.day IS NOT NULL"),
    "model": ("NULL", "1"),
    "project": ("s.project_id", "1"),
    "session": ("u.session_id", "1"),
    "total": ("NULL", "1"),
}


def aligned(where: Where) -> bool:
    """Whether the stored rollups answer these bounds as they are (whole UTC days)."""
    return all(v is None or v % DAY_MS == 0 for v in (where.since, where.until))


class SQLiteReports(ReportStore):
    """The report queries over the rollups (stored, or exact temp ones for this range)."""

    # Provided by SQLiteStore: this thread's connection, a write transaction.
    db: sqlite3.Connection
    # One report's queries share a freshness check and the exact tables of their range.
    _report_checked: float = -CHECK_EVERY
    _report_exact: tuple[tuple[Any, ...], dict[str, str]] | None = None

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return [dict(r) for r in self.db.execute(sql, args)]

    def _table(self, where: Where, needs: str) -> str:
        """Where a query reads the `needs` rollup: the stored one when up to date and the
        bounds are whole days (or exact anyway: errors carry their time), else a temp table
        for this range. Freshness is checked once per CHECK_EVERY (one report's queries)."""
        fresh = True
        if time.monotonic() - self._report_checked >= CHECK_EVERY:
            try:
                refresh(self)
                self._report_checked = time.monotonic()
            except (sqlite3.OperationalError, MemoryError_):
                fresh = False  # a read-only or busy store: compute what is stale instead
        if fresh and (needs == "errors" or aligned(where)):
            return MAIN[needs]
        db = self.db
        key = (where.since, where.until, fresh, id(db),
               db.execute("SELECT max(id) FROM messages").fetchone()[0])
        cached = self._report_exact
        if not cached or cached[0] != key:
            cached = self._report_exact = (key, {})
        if needs not in cached[1]:
            stale = None if fresh else stale_sessions(db, *watermarks(db))
            cached[1][needs] = exact_table(db, needs, where.since, where.until, stale)
        return cached[1][needs]

    def refresh_reports(self) -> int:
        return refresh(self)

    # --- projects and activity ---------------------------------------------------------
    def report_projects(self, project: str | None = None) -> list[ProjectRow]:
        if project is None:
            return self._rows("SELECT id, path, name FROM projects ORDER BY path")
        return self._rows("SELECT id, path, name FROM projects WHERE path = ? OR name = ?"
                          " OR rtrim(path, '/') = rtrim(?, '/') ORDER BY path",
                          (project, project, project))

    def report_project_activity(self, where: Where) -> list[ProjectActivityRow]:
        w = _Where(where, "h.day", "h.project_id")
        return self._rows(f"""
            SELECT h.project_id, p.path AS project, p.name AS project_name,
                   count(DISTINCT h.session_id) AS sessions, sum(h.messages) AS messages,
                   sum(h.prompts) AS prompts, sum(h.errors) AS errors,
                   sum(h.tool_calls) AS tool_calls, min(h.first_ts) AS first_ts,
                   max(h.last_ts) AS last_ts, count(DISTINCT h.day) AS active_days,
                   sum(h.active_ms) AS active_ms
            FROM {self._table(where, 'days')} h LEFT JOIN projects p ON p.id = h.project_id
            {w.sql()}
            GROUP BY h.project_id, p.id ORDER BY sum(h.active_ms) DESC, sum(h.messages) DESC""", w.args)

    def report_timeline(self, where: Where) -> list[TimelineRow]:
        w = _Where(where, "h.day", "h.project_id")
        return self._rows(f"""
            SELECT h.day AS day, h.project_id, p.path AS project, p.name AS project_name,
                   count(DISTINCT h.session_id) AS sessions, sum(h.messages) AS messages,
                   sum(h.prompts) AS prompts, sum(h.errors) AS errors,
                   sum(h.tool_calls) AS tool_calls, min(h.first_ts) AS first_ts,
                   max(h.last_ts) AS last_ts, sum(h.active_ms) AS active_ms
            FROM {self._table(where, 'days')} h LEFT JOIN projects p ON p.id = h.project_id
            WHERE h.day IS NOT NULL {w.sql('AND')}
            GROUP BY h.day, h.project_id, p.id ORDER BY day, p.path NULLS FIRST""", w.args)

    def report_daily(self, where: Where) -> list[DailyRow]:
        w = _Where(where, "h.day", "h.project_id")
        return self._rows(f"""
            SELECT h.day AS day, sum(h.messages) AS messages, sum(h.prompts) AS prompts,
                   sum(h.errors) AS errors, sum(h.active_ms) AS active_ms,
                   count(DISTINCT h.session_id) AS sessions
            FROM {self._table(where, 'days')} h WHERE h.day IS NOT NULL {w.sql('AND')}
            GROUP BY h.day ORDER BY day""", w.args)

    def report_day_sessions(self, where: Where) -> list[DaySessionRow]:
        w = _Where(where, "h.day", "h.project_id")
        return self._rows(f"""
            SELECT h.day AS day, h.project_id, p.path AS project, p.name AS project_name,
                   h.session_id, s.title, s.first_prompt, s.started_at, s.ended_at, s.git_branch,
                   s.model, sum(h.messages) AS messages, sum(h.prompts) AS prompts,
                   sum(h.errors) AS errors, sum(h.tool_calls) AS tool_calls,
                   min(h.first_ts) AS first_ts, max(h.last_ts) AS last_ts,
                   sum(h.active_ms) AS active_ms
            FROM {self._table(where, 'days')} h LEFT JOIN projects p ON p.id = h.project_id
            LEFT JOIN sessions s ON s.id = h.session_id
            WHERE h.day IS NOT NULL AND h.session_id IS NOT NULL {w.sql('AND')}
            GROUP BY h.day, h.project_id, h.session_id, p.id, s.id ORDER BY day, first_ts""", w.args)

    def report_timeline_names(self, where: Where) -> list[DayNameRow]:
        w = _Where(where, "n.day", "n.project_id")
        return self._rows(f"""
            SELECT n.day AS day, n.project_id, n.kind, n.name, sum(n.uses) AS uses,
                   sum(n.errors) AS errors
            FROM {self._table(where, 'names')} n WHERE n.day IS NOT NULL {w.sql('AND')}
            GROUP BY n.day, n.project_id, n.kind, n.name
            ORDER BY day, n.project_id, sum(n.uses) DESC, n.kind, n.name""", w.args)

    def report_day_session_names(self, where: Where) -> list[DaySessionNameRow]:
        w = _Where(where, "n.day", "n.project_id")
        return self._rows(f"""
            SELECT n.day AS day, n.session_id, n.kind, n.name, sum(n.uses) AS uses,
                   sum(n.errors) AS errors
            FROM {self._table(where, 'names')} n
            WHERE n.day IS NOT NULL AND n.session_id IS NOT NULL {w.sql('AND')}
            GROUP BY n.day, n.session_id, n.kind, n.name ORDER BY sum(n.uses) DESC, n.kind, n.name""", w.args)

    def report_component_usage(self, where: Where) -> list[ComponentUseRow]:
        w = _Where(where, "n.day", "n.project_id")
        return self._rows(f"""
            SELECT n.kind, n.name, sum(n.uses) AS uses, sum(n.errors) AS errors,
                   count(DISTINCT n.session_id) AS sessions, count(DISTINCT n.day) AS active_days,
                   count(DISTINCT n.project_id) AS projects
            FROM {self._table(where, 'names')} n {w.sql()}
            GROUP BY n.kind, n.name ORDER BY sum(n.uses) DESC, n.name""", w.args)

    def report_usage(self, where: Where, by: UsageKey = "day") -> list[UsageRow]:
        key, cond = _USAGE_KEYS[by]
        w = _Where(where, "u.day", "s.project_id")
        return self._rows(f"""
            SELECT {key} AS key, u.model, sum(u.responses) AS responses,
                   sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens,
                   sum(u.cache_read_tokens) AS cache_read_tokens,
                   sum(u.cache_write_tokens) AS cache_write_tokens
            FROM {self._table(where, 'usage')} u LEFT JOIN sessions s ON s.id = u.session_id
            WHERE {cond} {w.sql('AND')}
            GROUP BY {key}, u.model ORDER BY {key}, u.model""", w.args)

    # --- errors ----------------------------------------------------------------------------
    def report_error_groups(self, where: Where) -> list[ErrorGroupRow]:
        cond, args = _error_where(where)
        return self._rows(f"""
            SELECT e.kind, e.name, e.project_id, p.path AS project, p.name AS project_name,
                   count(*) AS errors, count(DISTINCT e.session_id) AS sessions,
                   count(DISTINCT e.ts / {DAY_MS}) AS days, min(e.ts) AS first_ts,
                   max(e.ts) AS last_ts, count(DISTINCT e.signature) AS signatures
            FROM {self._table(where, 'errors')} e LEFT JOIN projects p ON p.id = e.project_id
            WHERE {cond}
            GROUP BY e.kind, e.name, e.project_id, p.id ORDER BY count(*) DESC, e.name, p.path""", args)

    def report_error_signatures(self, where: Where) -> list[ErrorSignatureRow]:
        cond, args = _error_where(where)
        return self._rows(f"""
            SELECT e.kind, e.name, e.project_id, e.signature, count(*) AS errors,
                   count(DISTINCT e.session_id) AS sessions, min(e.ts) AS first_ts,
                   max(e.ts) AS last_ts, min(e.message_id) AS sample_id
            FROM {self._table(where, 'errors')} e WHERE {cond}
            GROUP BY e.kind, e.name, e.project_id, e.signature
            ORDER BY count(*) DESC, e.kind, e.name, e.project_id, e.signature""", args)

    def report_errors(self, where: Where, session_id: str | None = None,
                      ids: Sequence[int] | None = None) -> list[ErrorRow]:
        cond, args = _error_where(where, session_id)
        if ids is not None:
            cond, args = f"e.message_id IN ({', '.join('?' * len(ids))})", list(ids)
        return self._rows(f"""
            SELECT {uid_sql('m.uid')} AS uid, e.message_id, e.session_id, e.project_id, p.path AS project,
                   p.name AS project_name, e.ts, e.kind, e.name, e.signature, m.type,
                   m.source_kind, m.level, m.tool_name, substr({CONTENT}, 1, {HEAD}) AS content,
                   sf.path AS source_file, m.source_line
            FROM {self._table(where, 'errors')} e JOIN messages m ON m.id = e.message_id
            LEFT JOIN projects p ON p.id = e.project_id
            LEFT JOIN source_files sf ON sf.id = m.source_file_id
            WHERE {cond} ORDER BY e.ts, e.message_id""", args)

    # --- one session -------------------------------------------------------------------
    def report_session_usage(self, session_id: str) -> list[ModelUsageRow]:
        return self._rows("""
            SELECT model, count(*) AS responses, sum(input_tokens) AS input_tokens,
                   sum(output_tokens) AS output_tokens, sum(cache_read_tokens) AS cache_read_tokens,
                   sum(cache_write_tokens) AS cache_write_tokens
            FROM api_usage WHERE session_id = uuid_bytes(?) GROUP BY model
            ORDER BY count(*) DESC, coalesce(model, '')""",
                          (session_id,))

    def report_session_names(self, session_id: str) -> list[NameUseRow]:
        return self._rows(f"""
            SELECT count_kind AS kind, count_name AS name, sum({USES}) AS uses,
                   sum(is_error) AS errors
            FROM messages WHERE session_id = uuid_bytes(?) AND deleted_at IS NULL AND count_name IS NOT NULL
            GROUP BY count_kind, count_name ORDER BY sum({USES}) DESC, count_kind, count_name""", (session_id,))

    def report_session_active_ms(self, session_id: str) -> int:
        return int(self.db.execute(f"""
            WITH g AS (SELECT ts - lag(ts) OVER (ORDER BY ts) AS gap FROM messages
                       WHERE session_id = uuid_bytes(?) AND deleted_at IS NULL AND {CONVERSATION})
            SELECT coalesce(sum(CASE WHEN gap <= {IDLE_MS} THEN gap END), 0) FROM g""",
                                   (session_id,)).fetchone()[0])

    def report_session_files(self, session_id: str) -> list[FileVersionsRow]:
        return self._rows("""
            WITH v AS (SELECT json_extract(metadata, '$.file_key') AS k, count(*) AS n
                       FROM messages WHERE session_id = uuid_bytes(?) AND source_kind = 'file_history'
                       GROUP BY k)
            SELECT fb.path, coalesce(sum(v.n), 0) AS versions
            FROM file_backups fb LEFT JOIN v ON v.k = fb.backup_name
            WHERE fb.session_id = ? GROUP BY fb.path ORDER BY fb.path""",
                          (session_id, session_id))

    def report_prompts(self, session_ids: Sequence[str], since: int | None,
                       until: int | None) -> list[PromptRow]:
        if not session_ids:
            return []
        return self._rows(f"""
            SELECT {sid_sql('session_id')} AS session_id, ts, content FROM messages
            WHERE session_id IN ({sid_in(len(session_ids))}) AND ts >= ? AND ts < ?
              AND deleted_at IS NULL AND {PROMPT} AND content <> ''
            ORDER BY session_id, ts, id""", (*session_ids, since or 0, until or FAR))

    # --- ingest runs and coverage --------------------------------------------------------
    def report_runs(self) -> list[RunRow]:
        return self._rows("SELECT id AS run_id, started_at, finished_at, status, root, format,"
                          " files_seen, files_changed, files_unknown, bytes_read, messages_read,"
                          " messages_new, duplicates, errors, message FROM extraction_runs"
                          " ORDER BY id")

    def report_run_kinds(self) -> list[RunKindRow]:
        return self._rows("""
            SELECT r.run_id, sf.kind, count(*) AS files, sum(r.bytes_read) AS bytes_read,
                   sum(r.messages_read) AS messages_read, sum(r.messages_new) AS messages_new,
                   sum(r.errors) AS errors
            FROM run_files r JOIN source_files sf ON sf.id = r.source_file_id
            GROUP BY r.run_id, sf.kind ORDER BY r.run_id, sf.kind""")

    def report_run_issues(self) -> list[RunIssuesRow]:
        return self._rows("SELECT run_id, severity, count(*) AS issues FROM ingest_errors"
                          " GROUP BY run_id, severity ORDER BY run_id")

    def report_source_kinds(self) -> list[SourceKindRow]:
        return self._rows("""
            SELECT kind, count(*) AS files, coalesce(sum(size), 0) AS bytes,
                   coalesce(sum(bytes_consumed), 0) AS bytes_consumed,
                   sum(size IS NOT NULL AND bytes_consumed >= size) AS complete,
                   sum(errors > 0) AS files_with_errors, coalesce(sum(errors), 0) AS errors,
                   sum(partial_tail) AS partial, sum(missing_since IS NOT NULL) AS missing,
                   coalesce(sum(messages), 0) AS messages
            FROM source_files GROUP BY kind ORDER BY kind""")

    def report_source_files(self, every: bool = False) -> list[SourceFileRow]:
        where = "" if every else (
            "WHERE kind NOT IN ('unknown', 'not_read') AND (size IS NULL OR bytes_consumed < size"
            " OR errors > 0 OR partial_tail = 1 OR missing_since IS NOT NULL)")
        return self._rows(f"""
            SELECT root, path, kind, size, bytes_consumed, lines_consumed, messages, errors,
                   last_error, partial_tail, missing_since, last_run_id
            FROM source_files {where} ORDER BY errors DESC, path""")
