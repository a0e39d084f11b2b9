"""SQL of the SQLite backend's read side: status, runs, sessions, messages, files, integrity."""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any, cast

from ...timeutil import iso
from ..protocol.read import (
    AmbiguousSession,
    KindFiles,
    Message,
    Run,
    RunError,
    RunFile,
    Session,
    SourceFile,
    Status,
    StoreInfo,
    Tokens,
)
from .packing import blob_sql, sid_sql, uid_sql, unpack_blob, uuid_sql

# A human prompt (derive.prompts.is_prompt, stored per row), counted once: a history line
# linked to its transcript prompt is the same prompt.
PROMPT = "is_prompt = 1 AND linked_uid IS NULL"


# The first or last timestamp of all rows, from one seek per project in messages_project_ts
# (the projects found by a loose scan of its first column): a plain min(ts) reads the whole
# index, ~0.9 s of `status` at 1M rows and most of it at 7M.
_TS_RANGE = """
    WITH RECURSIVE p(id) AS (
        SELECT min(project_id) FROM messages
        UNION ALL SELECT (SELECT min(project_id) FROM messages WHERE project_id > p.id)
        FROM p WHERE p.id IS NOT NULL)
    SELECT {0}(t) FROM (
        SELECT (SELECT {0}(ts) FROM messages WHERE project_id = p.id) AS t FROM p WHERE p.id IS NOT NULL
        UNION ALL SELECT (SELECT {0}(ts) FROM messages WHERE project_id IS NULL)) AS per_project"""


def status(db: sqlite3.Connection, store: StoreInfo) -> Status:
    def one(sql: str) -> Any:
        return db.execute(sql).fetchone()[0]

    # one pass over the covering index (messages_source) gives both the total and its split:
    # the total was a second pass, ~20% of `status` at 1M messages
    by_source = {r[0]: r[1] for r in db.execute(
        "SELECT source_kind, count(*) FROM messages WHERE deleted_at IS NULL GROUP BY source_kind ORDER BY 2 DESC, 1")}
    files: dict[str, KindFiles] = {r[0]: {"files": r[1], "bytes": r[2] or 0} for r in db.execute(
        "SELECT kind, count(*), sum(size) FROM source_files WHERE missing_since IS NULL GROUP BY kind ORDER BY kind")}
    last = db.execute("SELECT id, status, started_at, finished_at FROM extraction_runs ORDER BY id DESC LIMIT 1").fetchone()
    unknown = [r[0] for r in db.execute(
        "SELECT root || '/' || path FROM source_files WHERE kind = 'unknown' AND missing_since IS NULL ORDER BY path LIMIT 200")]
    return {
        "messages": sum(by_source.values()),
        "sessions": one("SELECT count(*) FROM sessions"),
        "projects": one("SELECT count(*) FROM projects"),
        "by_source": by_source,
        "api_responses": one("SELECT count(*) FROM api_usage"),
        "tokens": cast(Tokens, dict(zip(("input", "output", "cache_read", "cache_write"), db.execute(
            "SELECT coalesce(sum(input_tokens),0), coalesce(sum(output_tokens),0),"
            " coalesce(sum(cache_read_tokens),0), coalesce(sum(cache_write_tokens),0) FROM api_usage").fetchone(), strict=True))),
        "first_message": iso(one(_TS_RANGE.format("min"))),
        "last_message": iso(one(_TS_RANGE.format("max"))),
        "files": files,
        "unknown_files": unknown,
        "missing_files": one("SELECT count(*) FROM source_files WHERE missing_since IS NOT NULL"),
        "partial_files": one("SELECT count(*) FROM source_files WHERE partial_tail = 1 AND missing_since IS NULL"),
        "files_with_errors": one("SELECT count(*) FROM source_files WHERE errors > 0 AND missing_since IS NULL"),
        "runs": one("SELECT count(*) FROM extraction_runs"),
        "last_run": {"run_id": last[0], "status": last[1], "started_at": iso(last[2]),
                     "finished_at": iso(last[3])} if last else None,
        "schema_version": store["schema_version"],
        "store": store,
    }


_SESSION_COLS = """s.id AS session_id, p.path AS project, p.name AS project_name, s.title, s.summary,
    s.first_prompt, s.started_at, s.ended_at, s.git_branch, s.version, s.model, s.slug,
    s.message_count, s.prompt_count, s.tool_call_count, s.error_count, s.input_tokens,
    s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.parent_session_id"""


def _session_row(r: sqlite3.Row) -> Session:
    d = dict(r)
    d["started_at"] = iso(d["started_at"])
    d["ended_at"] = iso(d["ended_at"])
    return cast(Session, d)


def sessions(db: sqlite3.Connection, project: str | None, limit: int) -> list[Session]:
    where, args = "", []
    if project:
        where = "WHERE p.path = ? OR p.name = ?"
        args = [project, project]
    rows = db.execute(f"SELECT {_SESSION_COLS} FROM sessions s LEFT JOIN projects p ON p.id = s.project_id"
                      f" {where} ORDER BY s.started_at DESC NULLS LAST, s.id LIMIT ?", (*args, limit))
    return [_session_row(r) for r in rows]


def session(db: sqlite3.Connection, session_id: str) -> Session | None:
    row = db.execute(f"SELECT {_SESSION_COLS} FROM sessions s LEFT JOIN projects p ON p.id = s.project_id"
                     " WHERE s.id = ?", (session_id,)).fetchone()
    if row is None and session_id:  # a unique prefix is enough, like git
        # substr, not LIKE: '_' and '%' in what was typed are not wildcards
        where = " WHERE substr(s.id, 1, ?) = ?"
        args = (len(session_id), session_id)
        rows = db.execute(f"SELECT {_SESSION_COLS} FROM sessions s LEFT JOIN projects p ON p.id = s.project_id"
                          f"{where} ORDER BY s.started_at DESC NULLS LAST, s.id LIMIT ?",
                          (*args, AmbiguousSession.SHOWN)).fetchall()
        if len(rows) > 1:
            total = db.execute(f"SELECT count(*) FROM sessions s{where}", args).fetchone()[0]
            raise AmbiguousSession(session_id, [_session_row(r) for r in rows], total)
        row = rows[0] if rows else None
    return _session_row(row) if row else None


# A message as `show session` prints it ({cols}: extra columns first); the API's pages too.
MESSAGE_SELECT = f"""
        SELECT {{cols}} {uid_sql('m.uid')} AS uid, m.type, m.role, coalesce(m.content, content_unpack(m.content_z), CASE WHEN b.is_text THEN CAST({blob_sql()} AS TEXT) END) AS content,
               m.ts, m.source_kind, f.path AS source_file, m.source_line, m.tool_name, m.tool_use_id,
               m.is_error, m.is_meta, m.is_sidechain, m.agent_id, m.component, m.level, m.model,
               m.linked_uid, {uuid_sql('m.ext_id')} AS ext_id,
               {uuid_sql('m.parent_ext_id')} AS parent_ext_id, fb.path AS file_path
        FROM messages m
        LEFT JOIN source_files f ON f.id = m.source_file_id
        LEFT JOIN blobs b ON b.sha256 = m.blob_sha256 AND m.content IS NULL
        LEFT JOIN file_backups fb ON m.source_kind = 'file_history' AND fb.session_id = {sid_sql('m.session_id')}
             AND fb.backup_name = json_extract(m.metadata, '$.file_key')"""


def message_row(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    d["timestamp"] = iso(d.pop("ts"))
    for k in ("is_error", "is_meta", "is_sidechain"):
        d[k] = bool(d[k])
    return d


def session_messages(db: sqlite3.Connection, session_id: str) -> list[Message]:
    rows = db.execute(MESSAGE_SELECT.format(cols="") + """
        WHERE m.session_id = uuid_bytes(?) AND m.deleted_at IS NULL
        ORDER BY m.ts IS NOT NULL, m.ts, m.source_file_id, m.source_line, m.id""", (session_id,))
    return [cast(Message, message_row(r)) for r in rows]


def files(db: sqlite3.Connection, kinds: tuple[str, ...] | None) -> list[SourceFile]:
    where = f"WHERE kind IN ({', '.join('?' * len(kinds))})" if kinds else ""
    rows = db.execute(f"SELECT root, path, kind, size, bytes_consumed, errors, last_error, partial_tail,"
                      f" missing_since, messages FROM source_files {where} ORDER BY root, path",
                      kinds or ())
    return [cast(SourceFile, dict(r)) for r in rows]


def runs(db: sqlite3.Connection, limit: int) -> list[Run]:
    out = []
    for r in db.execute("SELECT * FROM extraction_runs ORDER BY id DESC LIMIT ?", (limit,)):
        d = dict(r)
        d["run_id"] = d.pop("id")
        d["started_at"] = iso(d["started_at"])
        d["finished_at"] = iso(d["finished_at"])
        out.append(cast(Run, d))
    return out


def run_errors(db: sqlite3.Connection, run_id: int, limit: int) -> list[RunError]:
    rows = db.execute("SELECT path, line, byte_offset, severity, reason FROM ingest_errors"
                      " WHERE run_id = ? ORDER BY id LIMIT ?", (run_id, limit))
    return [cast(RunError, dict(r)) for r in rows]


def run_files(db: sqlite3.Connection, run_id: int) -> list[RunFile]:
    rows = db.execute("SELECT f.path, f.kind, r.action, r.sha256, r.size, r.bytes_read,"
                      " r.messages_read, r.messages_new, r.errors FROM run_files r"
                      " JOIN source_files f ON f.id = r.source_file_id WHERE r.run_id = ?"
                      " ORDER BY f.root, f.path", (run_id,))
    return [cast(RunFile, dict(r)) for r in rows]


def check(db: sqlite3.Connection, engine_check: bool = True) -> list[str]:
    """What is wrong with the store; `engine_check`: SQLite's own integrity check too (a
    database server checks its pages itself)."""
    problems: list[str] = []
    result = db.execute("PRAGMA integrity_check").fetchall() if engine_check else [("ok",)]
    if [r[0] for r in result] != ["ok"]:
        problems += [f"SQLite integrity: {r[0]}" for r in result[:20]]
    fk = db.execute("SELECT count(*) FROM messages m WHERE m.source_file_id IS NOT NULL AND NOT EXISTS"
                    " (SELECT 1 FROM source_files f WHERE f.id = m.source_file_id)").fetchone()[0]
    if fk:
        problems.append(f"{fk} messages point to a source file the manifest does not have")
    blobs = db.execute("SELECT count(*) FROM messages m WHERE m.blob_sha256 IS NOT NULL AND NOT EXISTS"
                       " (SELECT 1 FROM blobs b WHERE b.sha256 = m.blob_sha256)").fetchone()[0]
    if blobs:
        problems.append(f"{blobs} messages point to missing blobs")
    bad_blob = 0
    for sha, data, size in db.execute("SELECT sha256, data, size FROM blobs"):
        if hashlib.sha256(unpack_blob(data, size) or b"").hexdigest() != sha:
            bad_blob += 1
    if bad_blob:
        problems.append(f"{bad_blob} blobs do not match their sha256")
    orphans = db.execute("SELECT count(DISTINCT session_id) FROM messages WHERE session_id IS NOT NULL"
                         " AND session_id NOT IN (SELECT uuid_bytes(id) FROM sessions)").fetchone()[0]
    if orphans:
        problems.append(f"{orphans} sessions have messages but no session row; run `memory ingest` to rebuild")
    dirty = db.execute("SELECT count(*) FROM sessions WHERE dirty = 1").fetchone()[0]
    if dirty:
        problems.append(f"{dirty} sessions await derivation (an interrupted run); run `memory ingest`")
    running = db.execute("SELECT count(*) FROM extraction_runs WHERE status = 'running'").fetchone()[0]
    if running:
        problems.append(f"{running} runs are marked running (in progress now, or killed)")
    return problems
