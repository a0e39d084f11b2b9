"""What search reads and writes in the SQLite store, in one place.

Every statement is parameterised: no user text is ever spliced into SQL. (These belong with
the backend's SQL in store/sqlite/ once search is part of the Store interface; kept here so
the search issue touches no file it does not own.)
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ..timeutil import iso

INDEX_COLUMNS = ("m.id, m.uid, m.session_id, m.project_id, m.source_kind, m.type, m.role, m.content,"
                 " m.ts, m.component, m.level, m.tool_name, m.is_meta, m.linked_uid, m.deleted_at,"
                 " m.source_file_id, m.content_hash")
CHUNK = 500


def now_ms() -> int:
    return int(time.time() * 1000)


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- index state ---------------------------------------------------------------------------
def get_state(db: sqlite3.Connection, engine: str) -> dict[str, Any] | None:
    row = db.execute("SELECT engine, index_id, done_id, last_run_id, docs, updated_at"
                     " FROM search_state WHERE engine = ?", (engine,)).fetchone()
    return dict(zip(("engine", "index_id", "done_id", "last_run_id", "docs", "updated_at"), row,
                    strict=True)) if row else None


def put_state(db: sqlite3.Connection, engine: str, index_id: str | None, done_id: int,
              last_run_id: int, docs: int, expect_index_id: str | None = None) -> bool:
    """Write the state; with expect_index_id, only if the row still names that index (a
    rebuild in between wins). Returns whether it was written."""
    with _tx(db):
        if expect_index_id is not None:
            cur = db.execute("UPDATE search_state SET done_id = ?, last_run_id = ?, docs = ?,"
                             " updated_at = ? WHERE engine = ? AND index_id = ?",
                             (done_id, last_run_id, docs, now_ms(), engine, expect_index_id))
            return cur.rowcount == 1
        db.execute("INSERT INTO search_state (engine, index_id, done_id, last_run_id, docs, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(engine) DO UPDATE SET"
                   " index_id = excluded.index_id, done_id = excluded.done_id,"
                   " last_run_id = excluded.last_run_id, docs = excluded.docs,"
                   " updated_at = excluded.updated_at",
                   (engine, index_id, done_id, last_run_id, docs, now_ms()))
        return True


class _tx:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection (the store's own style)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def max_message_id(db: sqlite3.Connection) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]


def settled_run_id(db: sqlite3.Connection) -> int:
    """The newest run such that every run up to it has finished: files touched by a run still
    going are looked at again next time."""
    running = db.execute("SELECT min(id) FROM extraction_runs WHERE status = 'running'").fetchone()[0]
    if running is not None:
        return running - 1
    return db.execute("SELECT coalesce(max(id), 0) FROM extraction_runs").fetchone()[0]


def ingest_running(db: sqlite3.Connection) -> bool:
    """An ingest of this machine is writing now (its run is open and its process alive)."""
    for (pid,) in db.execute("SELECT pid FROM extraction_runs WHERE status = 'running'"):
        if pid and pid != os.getpid():
            try:
                os.kill(pid, 0)
                return True
            except ProcessLookupError:
                continue
            except PermissionError:
                return True
    return False


# --- rows to index -------------------------------------------------------------------------
def rows_after(db: sqlite3.Connection, after_id: int, upto_id: int, batch: int = 5000) -> Iterator[list]:
    last = after_id
    while True:
        rows = db.execute(f"SELECT {INDEX_COLUMNS} FROM messages m WHERE m.id > ? AND m.id <= ?"
                          " ORDER BY m.id LIMIT ?", (last, upto_id, batch)).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def rows_by_ids(db: sqlite3.Connection, ids: Iterable[int]) -> list:
    out = []
    for chunk in _chunks(sorted(set(ids))):
        out += db.execute(f"SELECT {INDEX_COLUMNS} FROM messages m WHERE m.id IN"
                          f" ({', '.join('?' * len(chunk))})", chunk).fetchall()
    return out


def ids_in_sessions(db: sqlite3.Connection, sessions: Iterable[str], upto_id: int) -> list[int]:
    out: list[int] = []
    for chunk in _chunks(sorted(set(sessions))):
        out += [r[0] for r in db.execute(
            f"SELECT id FROM messages WHERE session_id IN ({', '.join('?' * len(chunk))})"
            " AND id <= ?", (*chunk, upto_id))]
    return out


def files_read_since(db: sqlite3.Connection, run_id: int) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM source_files WHERE last_run_id > ?", (run_id,))]


def tails(db: sqlite3.Connection, file_ids: list[int]) -> list[int]:
    out: list[int] = []
    for chunk in _chunks(file_ids):
        out += [r[0] for r in db.execute(
            f"SELECT message_id FROM search_tails WHERE source_file_id IN ({', '.join('?' * len(chunk))})",
            chunk)]
    return out


def put_tails(db: sqlite3.Connection, tails_by_file: dict[int, int]) -> None:
    if tails_by_file:
        with _tx(db):
            db.executemany("INSERT INTO search_tails VALUES (?, ?) ON CONFLICT(source_file_id)"
                           " DO UPDATE SET message_id = max(message_id, excluded.message_id)",
                           list(tails_by_file.items()))


def clear_tails(db: sqlite3.Connection) -> None:
    with _tx(db):
        db.execute("DELETE FROM search_tails")


# --- filters and results -------------------------------------------------------------------
def project_ids(db: sqlite3.Connection, value: str) -> list[int]:
    """Projects named by their path or their name (a path with a trailing slash too)."""
    v = value.rstrip("/") or value
    return [r[0] for r in db.execute("SELECT id FROM projects WHERE path = ? OR path = ? OR name = ?",
                                     (value, v, v))]


def session_ids(db: sqlite3.Connection, value: str) -> list[str]:
    """A session id or a unique-enough prefix of one (like `show session`)."""
    exact = db.execute("SELECT id FROM sessions WHERE id = ?", (value,)).fetchone()
    if exact:
        return [exact[0]]
    pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return [r[0] for r in db.execute("SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\\' LIMIT 50",
                                     (pattern,))]


def project_labels(db: sqlite3.Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    out = {}
    for chunk in _chunks(sorted(set(ids))):
        for r in db.execute(f"SELECT id, path, name FROM projects WHERE id IN ({', '.join('?' * len(chunk))})",
                            chunk):
            out[r[0]] = (r[1], r[2])
    return out


def hydrate(db: sqlite3.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The result rows for message ids, as `show session` names their fields; deleted ones
    are left out."""
    out: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        rows = db.execute(f"""
            SELECT m.id, m.uid, m.session_id, p.path, p.name, m.ts, m.source_kind, f.path,
                   m.source_line, m.type, m.role, m.content, m.tool_name, m.component, m.level,
                   m.is_error
            FROM messages m
            LEFT JOIN projects p ON p.id = m.project_id
            LEFT JOIN source_files f ON f.id = m.source_file_id
            WHERE m.id IN ({', '.join('?' * len(chunk))}) AND m.deleted_at IS NULL""", chunk)
        for r in rows:
            out[r[0]] = {
                "uid": r[1], "session_id": r[2], "project": r[3], "project_name": r[4],
                "timestamp": iso(r[5]), "source_kind": r[6], "source_file": r[7],
                "source_line": r[8], "type": r[9], "role": r[10], "content": r[11] or "",
                "tool_name": r[12], "component": r[13], "level": r[14], "is_error": bool(r[15]),
            }
    return out


# --- embeddings ----------------------------------------------------------------------------
def embeddable_after(db: sqlite3.Connection, types: tuple[str, ...], after_id: int, upto_id: int,
                     batch: int) -> list:
    """Messages that carry meaning and have text, in id order after a watermark."""
    return db.execute(
        f"SELECT m.id, m.content, m.content_hash, m.type, m.is_meta FROM messages m"
        f" WHERE m.id > ? AND m.id <= ? AND m.type IN ({', '.join('?' * len(types))})"
        " AND m.deleted_at IS NULL AND m.linked_uid IS NULL AND m.content IS NOT NULL"
        " AND m.content <> '' ORDER BY m.id LIMIT ?", (after_id, upto_id, *types, batch)).fetchall()


def count_embeddable(db: sqlite3.Connection, types: tuple[str, ...], after_id: int, upto_id: int) -> int:
    return db.execute(
        f"SELECT count(*) FROM messages m WHERE m.id > ? AND m.id <= ?"
        f" AND m.type IN ({', '.join('?' * len(types))}) AND m.deleted_at IS NULL"
        " AND m.linked_uid IS NULL AND m.content IS NOT NULL AND m.content <> ''",
        (after_id, upto_id, *types)).fetchone()[0]


def put_embeddings(db: sqlite3.Connection, model: str, rows: list[tuple[int, str | None, bytes]],
                   engine: str, done_id: int, last_run_id: int) -> None:
    """Vectors and the watermark in one transaction: an interrupted backfill resumes exactly."""
    t = now_ms()
    with _tx(db):
        db.executemany("INSERT INTO embeddings (model, message_id, content_hash, vector, created_at)"
                       " VALUES (?, ?, ?, ?, ?) ON CONFLICT(model, message_id) DO UPDATE SET"
                       " content_hash = excluded.content_hash, vector = excluded.vector,"
                       " created_at = excluded.created_at",
                       [(model, i, h, v, t) for i, h, v in rows])
        n = db.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]
        db.execute("INSERT INTO search_state (engine, index_id, done_id, last_run_id, docs, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(engine) DO UPDATE SET"
                   " done_id = max(search_state.done_id, excluded.done_id),"
                   " last_run_id = max(search_state.last_run_id, excluded.last_run_id),"
                   " docs = excluded.docs, updated_at = excluded.updated_at",
                   (engine, model, done_id, last_run_id, n, t))


def delete_embeddings(db: sqlite3.Connection, model: str, ids: list[int]) -> None:
    with _tx(db):
        for chunk in _chunks(ids):
            db.execute(f"DELETE FROM embeddings WHERE model = ? AND message_id IN"
                       f" ({', '.join('?' * len(chunk))})", (model, *chunk))


def embedding_hashes(db: sqlite3.Connection, model: str, ids: list[int]) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for chunk in _chunks(ids):
        for r in db.execute(f"SELECT message_id, content_hash FROM embeddings WHERE model = ?"
                            f" AND message_id IN ({', '.join('?' * len(chunk))})", (model, *chunk)):
            out[r[0]] = r[1]
    return out


def embedding_count(db: sqlite3.Connection, model: str) -> int:
    return db.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]


def all_vectors(db: sqlite3.Connection, model: str) -> Iterator[tuple]:
    """(message id, vector, ts, project id, session, kind, type, role) of every live embedded
    message: what the in-memory vector index is built from."""
    yield from db.execute("""
        SELECT e.message_id, e.vector, m.ts, m.project_id, m.session_id, m.source_kind, m.type, m.role
        FROM embeddings e JOIN messages m ON m.id = e.message_id
        WHERE e.model = ? AND m.deleted_at IS NULL AND m.linked_uid IS NULL
        ORDER BY e.message_id""", (model,))
