"""The SQLite backend's side of search: rows to index, hits to hydrate, embeddings, state.

Every statement is parameterised: no user text is ever spliced into SQL. Bulk reads fetch
plain tuples and make them the protocol's NamedTuples with `tuple.__new__` (C only, no
Python frame a row: cheaper than sqlite3.Row): the indexer reads every message this way.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

from ...timeutil import iso
from ..protocol.search import EmbedRow, IndexRow, IndexState, StoredHit, VectorRow
from .packing import CONTENT, HASH, SID, MetaCodec, sid_in, uid_sql

# A failed tool call (a tool_result with is_error) has no log level: it is indexed and shown
# as an error, so `level:error` finds it (search/index.py SCHEMA_VERSION 2).
LEVEL = "coalesce(m.level, CASE WHEN m.is_error = 1 THEN 'error' END)"
_INDEX_COLUMNS = ("m.id, {uid}, {SID}, m.project_id, m.source_kind, m.type, m.role, {CONTENT}, m.ts,"
                  " m.component, {LEVEL}, m.tool_name, m.is_meta, m.linked_uid, m.deleted_at,"
                  " m.source_file_id, {HASH}")
INDEX_COLUMNS = _INDEX_COLUMNS.format(uid=uid_sql("m.uid"), SID=SID, CONTENT=CONTENT, LEVEL=LEVEL, HASH=HASH)
# What the keyword index reads: IndexRow's shape without uid ('') and content_hash (None):
# SQLite recomputes the hash of every text it keeps in Python (packing.HASH), ~25% of the read.
# The text comes as stored, `content` in its place and `content_z` last, and is unpacked in
# Python (`_lean_rows`): through SQL's CONTENT (a Python call from SQLite a row, its text then
# copied into SQLite and out again) c150's 267k rows took 3.5 CPU s; so, 1.9 s + 1.1 s here.
LEAN_INDEX_COLUMNS = _INDEX_COLUMNS.format(uid="''", SID=SID, CONTENT="m.content", LEVEL=LEVEL,
                                           HASH="NULL") + ", m.content_z"
_TEXT = IndexRow._fields.index("content")
_PACKED = len(IndexRow._fields)  # content_z's place in a lean row
_EMBEDDABLE = ("m.id > ? AND m.id <= ? AND m.type IN ({types}) AND m.deleted_at IS NULL"
               " AND m.linked_uid IS NULL AND (m.content <> '' OR m.content_z IS NOT NULL)")
CHUNK = 500  # ids per IN (...) list
# NamedTuple._make without its Python frame and length check (the SELECTs fix the columns).
_index_row = partial(tuple.__new__, IndexRow)
_embed_row = partial(tuple.__new__, EmbedRow)
_vector_row = partial(tuple.__new__, VectorRow)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def vectors_changed(db: Any) -> None:
    """After embeddings were deleted: each vector index's count and time as they are now, so
    the vector cache on each host, stamped with them (search/vectors.py), is made again
    instead of keeping the deleted vectors."""
    db.execute("UPDATE search_state SET docs = (SELECT count(*) FROM embeddings e WHERE"
               " e.model = search_state.index_id), updated_at = ? WHERE engine LIKE 'semantic:%'",
               (_now_ms(),))


class SQLiteSearch:
    # Provided by SQLiteStore: the database file, this thread's connection, a write transaction.
    path: str
    db: sqlite3.Connection
    with_file_texts: Callable[[list[IndexRow]], list[IndexRow]]  # store/sqlite/file_versions.py

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    @property
    def meta_codec(self) -> MetaCodec:  # store/sqlite/backend.py
        raise NotImplementedError

    def _tuples(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as plain tuples, whatever the connection's row factory."""
        cur = self.db.cursor()
        cur.row_factory = None
        return cur.execute(sql, tuple(params)).fetchall()

    def _column(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return [r[0] for r in self._tuples(sql, params)]

    # --- index state and watermarks ----------------------------------------------------
    def index_state(self, engine: str) -> IndexState | None:
        rows = self._tuples("SELECT engine, index_id, done_id, last_run_id, docs, updated_at"
                            " FROM search_state WHERE engine = ?", (engine,))
        if not rows:
            return None
        e, index_id, done_id, last_run_id, docs, updated_at = rows[0]
        return IndexState(engine=e, index_id=index_id, done_id=done_id, last_run_id=last_run_id,
                          docs=docs, updated_at=updated_at)

    def put_index_state(self, engine: str, index_id: str | None, done_id: int, last_run_id: int,
                        docs: int, expect_index_id: str | None = None) -> bool:
        with self.tx() as db:
            if expect_index_id is not None:
                cur = db.execute("UPDATE search_state SET done_id = ?, last_run_id = ?, docs = ?,"
                                 " updated_at = ? WHERE engine = ? AND index_id = ?",
                                 (done_id, last_run_id, docs, _now_ms(), engine, expect_index_id))
                return cur.rowcount == 1
            db.execute("INSERT INTO search_state (engine, index_id, done_id, last_run_id, docs,"
                       " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(engine) DO UPDATE SET"
                       " index_id = excluded.index_id, done_id = excluded.done_id,"
                       " last_run_id = excluded.last_run_id, docs = excluded.docs,"
                       " updated_at = excluded.updated_at",
                       (engine, index_id, done_id, last_run_id, docs, _now_ms()))
            return True

    def max_message_id(self) -> int:
        return int(self._tuples("SELECT coalesce(max(id), 0) FROM messages")[0][0])

    def settled_run_id(self) -> int:
        running = self._tuples("SELECT min(id) FROM extraction_runs WHERE status = 'running'")[0][0]
        if running is not None:
            return int(running) - 1
        return int(self._tuples("SELECT coalesce(max(id), 0) FROM extraction_runs")[0][0])

    def running_ingest_pids(self) -> list[int]:
        return self._column("SELECT pid FROM extraction_runs WHERE status = 'running'"
                            " AND pid IS NOT NULL")

    # --- rows to index -------------------------------------------------------------------
    def rows_to_index(self, after_id: int, upto_id: int, batch: int = 5000,
                      lean: bool = False, file_texts: bool = True) -> Iterator[list[IndexRow]]:
        last = after_id
        columns = LEAN_INDEX_COLUMNS if lean else INDEX_COLUMNS
        while True:
            rows = self._tuples(f"SELECT {columns} FROM messages m WHERE m.id > ?"
                                " AND m.id <= ? ORDER BY m.id LIMIT ?", (last, upto_id, batch))
            if not rows:
                return
            out = self._lean_rows(rows) if lean else list(map(_index_row, rows))
            yield self.with_file_texts(out) if file_texts else out
            last = rows[-1][0]

    def rows_by_ids(self, ids: Iterable[int], lean: bool = False) -> list[IndexRow]:
        out: list[IndexRow] = []
        columns = LEAN_INDEX_COLUMNS if lean else INDEX_COLUMNS
        for chunk in _chunks(sorted(set(ids))):
            rows = self._tuples(
                f"SELECT {columns} FROM messages m WHERE m.id IN ({_marks(len(chunk))})", chunk)
            out += self._lean_rows(rows) if lean else map(_index_row, rows)
        return self.with_file_texts(out)

    def _lean_rows(self, rows: list[tuple[Any, ...]]) -> list[IndexRow]:
        """IndexRows of LEAN_INDEX_COLUMNS, their packed texts unpacked (PostgreSQL packs none)."""
        text = self.meta_codec.content_reader(self.db)
        return [_index_row(r[:_PACKED]) if r[_PACKED] is None
                else _index_row(r[:_TEXT] + (text(r[_PACKED]),) + r[_TEXT + 1:_PACKED]) for r in rows]

    def message_ids_in_sessions(self, sessions: Iterable[str], upto_id: int) -> list[int]:
        out: list[int] = []
        for chunk in _chunks(sorted(set(sessions))):
            out += self._column(f"SELECT id FROM messages WHERE session_id IN ({sid_in(len(chunk))})"
                                " AND id <= ?", (*chunk, upto_id))
        return out

    def files_read_since(self, run_id: int) -> list[int]:
        return self._column("SELECT id FROM source_files WHERE last_run_id > ?", (run_id,))

    def tail_message_ids(self, file_ids: list[int]) -> list[int]:
        out: list[int] = []
        for chunk in _chunks(file_ids):
            out += self._column("SELECT message_id FROM search_tails WHERE source_file_id IN"
                                f" ({_marks(len(chunk))})", chunk)
        return out

    def put_tails(self, tails: dict[int, int], replace: bool = False) -> None:
        if not tails and not replace:
            return
        with self.tx() as db:
            if replace:
                db.execute("DELETE FROM search_tails")
            db.executemany("INSERT INTO search_tails VALUES (?, ?) ON CONFLICT(source_file_id)"
                           " DO UPDATE SET message_id = max(search_tails.message_id, excluded.message_id)",
                           list(tails.items()))

    # --- filters and hits ----------------------------------------------------------------
    def project_ids(self, value: str) -> list[int]:
        v = value.rstrip("/") or value
        return self._column("SELECT id FROM projects WHERE path = ? OR path = ? OR name = ?",
                            (value, v, v))

    def session_ids(self, value: str) -> list[str]:
        exact = self._column("SELECT id FROM sessions WHERE id = ?", (value,))
        if exact:
            return exact
        pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self._column("SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\\' LIMIT 50", (pattern,))

    def project_labels(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        out = {}
        for chunk in _chunks(sorted(set(ids))):
            for pid, path, name in self._tuples(
                    f"SELECT id, path, name FROM projects WHERE id IN ({_marks(len(chunk))})", chunk):
                out[pid] = (path, name)
        return out

    def hydrate(self, ids: list[int]) -> dict[int, StoredHit]:
        out: dict[int, StoredHit] = {}
        for chunk in _chunks(ids):
            rows = self._tuples(f"""
                SELECT m.id, {uid_sql('m.uid')}, {SID}, p.path, p.name, m.ts, m.source_kind, f.path,
                       m.source_line, m.type, m.role, {CONTENT}, m.tool_name, m.component, {LEVEL},
                       m.is_error
                FROM messages m
                LEFT JOIN projects p ON p.id = m.project_id
                LEFT JOIN source_files f ON f.id = m.source_file_id
                WHERE m.id IN ({_marks(len(chunk))}) AND m.deleted_at IS NULL""", chunk)
            for r in rows:
                out[r[0]] = StoredHit(
                    uid=r[1], session_id=r[2], project=r[3], project_name=r[4],
                    timestamp=iso(r[5]), source_kind=r[6], source_file=r[7], source_line=r[8],
                    type=r[9], role=r[10], tool_name=r[12], component=r[13], level=r[14],
                    is_error=bool(r[15]), content=r[11] or "")
        return out

    # --- embeddings ----------------------------------------------------------------------
    def embeddable_rows(self, types: tuple[str, ...], after_id: int, upto_id: int,
                        batch: int) -> list[EmbedRow]:
        where = _EMBEDDABLE.format(types=_marks(len(types)))
        return list(map(_embed_row, self._tuples(
            f"SELECT m.id, {CONTENT}, {HASH}, m.type, m.is_meta FROM messages m"
            f" WHERE {where} ORDER BY m.id LIMIT ?", (after_id, upto_id, *types, batch))))

    def count_embeddable(self, types: tuple[str, ...], after_id: int, upto_id: int) -> int:
        where = _EMBEDDABLE.format(types=_marks(len(types)))
        return int(self._tuples(f"SELECT count(*) FROM messages m WHERE {where}",
                                (after_id, upto_id, *types))[0][0])

    def put_embeddings(self, model: str, rows: list[tuple[int, str | None, bytes]], engine: str,
                       done_id: int, last_run_id: int) -> None:
        t = _now_ms()
        with self.tx() as db:
            db.executemany("INSERT INTO embeddings (model, message_id, content_hash, vector, created_at)"
                           " VALUES (?, ?, ?, ?, ?) ON CONFLICT(model, message_id) DO UPDATE SET"
                           " content_hash = excluded.content_hash, vector = excluded.vector,"
                           " created_at = excluded.created_at",
                           [(model, i, h, v, t) for i, h, v in rows])
            n = db.execute("SELECT count(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]
            db.execute("INSERT INTO search_state (engine, index_id, done_id, last_run_id, docs,"
                       " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(engine) DO UPDATE SET"
                       " done_id = max(search_state.done_id, excluded.done_id),"
                       " last_run_id = max(search_state.last_run_id, excluded.last_run_id),"
                       " docs = excluded.docs, updated_at = excluded.updated_at",
                       (engine, model, done_id, last_run_id, n, t))

    def delete_embeddings(self, model: str, ids: list[int]) -> None:
        with self.tx() as db:
            for chunk in _chunks(ids):
                db.execute(f"DELETE FROM embeddings WHERE model = ? AND message_id IN"
                           f" ({_marks(len(chunk))})", (model, *chunk))
            vectors_changed(db)

    def embedding_count(self, model: str) -> int:
        return int(self._tuples("SELECT count(*) FROM embeddings WHERE model = ?", (model,))[0][0])

    def _bulk_cursor(self) -> Any:
        """A cursor for a read of every row, fetched in pieces (a server backend streams)."""
        return self.db.cursor()

    def all_vectors(self, model: str) -> Iterator[VectorRow]:
        cur = self._bulk_cursor()
        cur.row_factory = None
        cur.execute(f"""
            SELECT e.message_id, e.vector, m.ts, m.project_id, {SID}, m.source_kind, m.type,
                   m.role
            FROM embeddings e JOIN messages m ON m.id = e.message_id
            WHERE e.model = ? AND m.deleted_at IS NULL AND m.linked_uid IS NULL
            ORDER BY e.message_id""", (model,))
        while rows := cur.fetchmany(10_000):
            yield from map(_vector_row, rows)
