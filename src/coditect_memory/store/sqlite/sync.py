"""SQLite side of sync (store/protocol/sync.py); PostgreSQL runs the same SQL (dialect.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, cast

from ..protocol.sync import MachineRow, SyncState
from .export import message_rows
from .packing import uid_in, uid_sql

_CHUNK = 500
_STATE = ("server", "machine_id", "hostname", "submodule", "push_cursor", "pull_cursor",
          "tomb_cursor", "last_push_at", "last_push_result", "last_pull_at", "last_pull_result",
          "pending_since", "floor_seq", "levels_digest", "mutable_digest")
_MACHINE = ("id", "hostname", "submodule", "token_name", "first_seen", "last_push_at",
            "last_pull_at", "rows_received", "rows_sent")
# Rows that came through sync (pulled on a machine) are never pushed back.
_NOT_PULLED = f"AND NOT EXISTS (SELECT 1 FROM sync_rows s WHERE s.uid = {uid_sql('m.uid')})"


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SQLiteSync:
    # Provided by SQLiteStore: this thread's connection, a write transaction.
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # --- a machine ---------------------------------------------------------------------
    def sync_state(self) -> SyncState | None:
        row = self.db.execute(f"SELECT {', '.join(_STATE)} FROM sync_state WHERE id = 1").fetchone()
        return cast(SyncState, dict(zip(_STATE, row, strict=True))) if row else None

    def set_sync_state(self, **values: Any) -> None:
        bad = set(values) - set(_STATE)
        if bad:
            raise ValueError(f"not sync state: {sorted(bad)}")
        with self.tx() as db:
            if db.execute("SELECT 1 FROM sync_state WHERE id = 1").fetchone() is None:
                cols = ["id", *values]
                db.execute(f"INSERT INTO sync_state ({', '.join(cols)}) VALUES ({_marks(len(cols))})",
                           [1, *values.values()])
            elif values:
                db.execute(f"UPDATE sync_state SET {', '.join(f'{k} = ?' for k in values)} WHERE id = 1",
                           list(values.values()))

    def sync_push_rows(self, after_id: int, up_to: int, limit: int) -> list[dict[str, Any]]:
        return list(message_rows(self.db, f"AND m.id > ? AND m.id <= ? {_NOT_PULLED}",
                                 [after_id, up_to], limit=limit))

    def sync_pending(self, after_id: int) -> int:
        return int(self.db.execute(
            f"SELECT count(*) FROM messages m WHERE m.id > ? AND m.deleted_at IS NULL {_NOT_PULLED}",
            (after_id,)).fetchone()[0])

    def sync_floor_after(self, seq: int) -> tuple[int | None, int]:
        row = self.db.execute("SELECT min(floor), coalesce(max(seq), ?) FROM sync_id_floors"
                              " WHERE seq > ?", (seq, seq)).fetchone()
        return (None if row[0] is None else int(row[0])), int(row[1])

    def max_message_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0])

    def sync_unsent_tombstones(self, limit: int) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT t.uid FROM privacy_tombstones t WHERE NOT EXISTS"
            " (SELECT 1 FROM sync_tombstones_sent s WHERE s.uid = t.uid) ORDER BY t.uid LIMIT ?",
            (limit,))]

    def sync_tombstones_sent(self, uids: list[str]) -> None:
        with self.tx() as db:
            db.executemany("INSERT INTO sync_tombstones_sent (uid) VALUES (?) ON CONFLICT DO NOTHING",
                           [(u,) for u in uids])

    def sync_unlink(self) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM sync_tombstones_sent")
            db.execute("DELETE FROM sync_held")

    # --- both sides ----------------------------------------------------------------------
    def sync_mark_rows(self, uids: Iterable[str], machine_id: str, submodule: str | None) -> None:
        with self.tx() as db:
            db.executemany("INSERT INTO sync_rows (uid, machine_id, submodule) VALUES (?, ?, ?)"
                           " ON CONFLICT DO NOTHING", [(u, machine_id, submodule) for u in uids])

    def message_ids(self, uids: list[str]) -> list[int]:
        out: list[int] = []
        for i in range(0, len(uids), _CHUNK):
            part = uids[i:i + _CHUNK]
            out += [r[0] for r in self.db.execute(
                f"SELECT id FROM messages WHERE uid IN ({uid_in(len(part))})", part)]
        return out

    # --- the server ----------------------------------------------------------------------
    def sync_serve_rows(self, after_id: int, limit: int, machine_id: str,
                        project_ids: tuple[int, ...] | None,
                        submodules: tuple[str, ...]) -> list[dict[str, Any]]:
        where = "AND m.id > ? AND (o.machine_id IS NULL OR o.machine_id <> ?)"
        args: list[Any] = [after_id, machine_id]
        if project_ids is not None:
            where += (f" AND (m.project_id IN ({_marks(len(project_ids))})"
                      f" OR o.submodule IN ({_marks(len(submodules) or 1)}))")
            args += [*project_ids, *(submodules or ("",))]
        return list(message_rows(self.db, where, args, limit=limit,
                                 join=f"\nLEFT JOIN sync_rows o ON o.uid = {uid_sql('m.uid')}"))

    def sync_add_tombstones(self, uids: list[str], machine_id: str, now: int) -> list[str]:
        new: list[str] = []
        with self.tx() as db:
            for u in dict.fromkeys(uids):
                if db.execute("INSERT INTO sync_tombstones (uid, machine_id, at) VALUES (?, ?, ?)"
                              " ON CONFLICT DO NOTHING RETURNING seq", (u, machine_id, now)).fetchone():
                    new.append(u)
        return new

    def sync_adopt_tombstones(self, machine_id: str, now: int) -> int:
        with self.tx() as db:
            return db.execute(
                "INSERT INTO sync_tombstones (uid, machine_id, at) SELECT t.uid, ?, ? FROM"
                " privacy_tombstones t WHERE NOT EXISTS (SELECT 1 FROM sync_tombstones s"
                " WHERE s.uid = t.uid) ORDER BY t.uid", (machine_id, now)).rowcount

    def sync_tombstones_after(self, seq: int, machine_id: str, limit: int) -> list[tuple[int, str]]:
        return [(int(r[0]), r[1]) for r in self.db.execute(
            "SELECT seq, uid FROM sync_tombstones WHERE seq > ? AND machine_id <> ? ORDER BY seq LIMIT ?",
            (seq, machine_id, limit))]

    def sync_machine_seen(self, machine_id: str, hostname: str, submodule: str | None,
                          token_name: str, now: int, pushed: int | None = None,
                          pulled: int | None = None) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO sync_machines (id, hostname, submodule, token_name, first_seen)"
                       " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET hostname ="
                       " excluded.hostname, submodule = excluded.submodule, token_name ="
                       " excluded.token_name", (machine_id, hostname, submodule, token_name, now))
            if pushed is not None:
                db.execute("UPDATE sync_machines SET last_push_at = ?, rows_received ="
                           " rows_received + ? WHERE id = ?", (now, pushed, machine_id))
            if pulled is not None:
                db.execute("UPDATE sync_machines SET last_pull_at = ?, rows_sent = rows_sent + ?"
                           " WHERE id = ?", (now, pulled, machine_id))

    def sync_machines(self) -> list[MachineRow]:
        return [cast(MachineRow, dict(zip(_MACHINE, r, strict=True))) for r in self.db.execute(
            f"SELECT {', '.join(_MACHINE)} FROM sync_machines ORDER BY first_seen, id")]
