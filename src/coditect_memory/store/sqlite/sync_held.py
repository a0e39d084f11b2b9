"""SQLite side of store/protocol/sync_held.py; PostgreSQL runs the same SQL (dialect.py)."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Any

from .export import message_rows
from .packing import sid_in, sid_sql

_CHUNK = 500


class SQLiteSyncHeld:
    # Provided by SQLiteStore: this thread's connection, a write transaction.
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def sync_hold(self, ids: list[int]) -> None:
        if ids:
            with self.tx() as db:
                db.executemany("INSERT INTO sync_held (id) VALUES (?) ON CONFLICT DO NOTHING",
                               [(i,) for i in ids])

    def sync_held_sessions(self) -> list[tuple[str | None, str | None]]:
        return [(r[0], r[1]) for r in self.db.execute(
            f"SELECT {sid_sql('s.session_id')} AS sid, p.path FROM (SELECT DISTINCT m.session_id,"
            " m.project_id FROM sync_held h JOIN messages m ON m.id = h.id) s"
            " LEFT JOIN projects p ON p.id = s.project_id"
            " ORDER BY sid NULLS FIRST, p.path NULLS FIRST")]

    def sync_held_rows(self, session_ids: list[str | None], after_id: int,
                       limit: int) -> list[dict[str, Any]]:
        named = [s for s in session_ids if s is not None]
        if not named and None not in session_ids:
            return []
        cond = [f"m.session_id IN ({sid_in(len(named))})"] if named else []
        if None in session_ids:
            cond.append("m.session_id IS NULL")
        return list(message_rows(
            self.db, f"AND m.id > ? AND m.id IN (SELECT id FROM sync_held) AND ({' OR '.join(cond)})",
            [after_id, *named], limit=limit))

    def sync_release(self, ids: list[int]) -> None:
        with self.tx() as db:
            for i in range(0, len(ids), _CHUNK):
                part = ids[i:i + _CHUNK]
                db.execute(f"DELETE FROM sync_held WHERE id IN ({','.join('?' * len(part))})", part)
