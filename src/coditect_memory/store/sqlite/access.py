"""SQLite side of the REST API's needs: tokens, submodules, session notes, the audit of
writes, pages of sessions and messages, and the generation (store/protocol/access.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, cast

import orjson

from ...timeutil import iso
from ..protocol.access import (
    MessageFilter,
    PagedMessage,
    SessionNote,
    SubmoduleRow,
    TokenRow,
)
from ..protocol.read import Session
from .packing import SID
from .queries import _SESSION_COLS, MESSAGE_SELECT, _session_row, message_row


def _json_list(text: str | None) -> list[str]:
    return [str(x) for x in orjson.loads(text or "[]")]


class SQLiteAccess:
    # Provided by SQLiteStore: this thread's connection, a write transaction.
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # --- tokens --------------------------------------------------------------------------
    def add_token(self, token_id: str, name: str, scope: str, submodules: list[str],
                  created_ms: int, expires_ms: int | None) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO api_tokens (id, name, scope, submodules, created_at, expires_at)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
                       (token_id, name, scope, orjson.dumps(submodules).decode(), created_ms,
                        expires_ms))

    @staticmethod
    def _token(r: sqlite3.Row) -> TokenRow:
        return TokenRow(id=r["id"], name=r["name"], scope=r["scope"],
                        submodules=_json_list(r["submodules"]), created_at=iso(r["created_at"]),
                        expires_at=iso(r["expires_at"]), revoked_at=iso(r["revoked_at"]))

    def tokens(self) -> list[TokenRow]:
        return [self._token(r) for r in self.db.execute(
            "SELECT * FROM api_tokens ORDER BY created_at, id")]

    def token(self, token_id: str) -> TokenRow | None:
        r = self.db.execute("SELECT * FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
        return self._token(r) if r else None

    def revoke_token(self, token_id: str, at_ms: int) -> bool:
        with self.tx() as db:
            return db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at"
                              " IS NULL", (at_ms, token_id)).rowcount > 0

    # --- submodules ----------------------------------------------------------------------
    def put_submodule(self, name: str, paths: list[str], git_url: str | None,
                      created_ms: int) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO submodules (name, paths, git_url, created_at) VALUES (?, ?, ?, ?)"
                       " ON CONFLICT(name) DO UPDATE SET paths = excluded.paths,"
                       " git_url = excluded.git_url",
                       (name, orjson.dumps(paths).decode(), git_url, created_ms))

    def submodules(self) -> list[SubmoduleRow]:
        return [SubmoduleRow(name=r["name"], paths=_json_list(r["paths"]), git_url=r["git_url"],
                             created_at=iso(r["created_at"]))
                for r in self.db.execute("SELECT * FROM submodules ORDER BY name")]

    def remove_submodule(self, name: str) -> bool:
        with self.tx() as db:
            return db.execute("DELETE FROM submodules WHERE name = ?", (name,)).rowcount > 0

    # --- notes, audit, generation --------------------------------------------------------
    def session_notes(self, session_ids: Iterable[str]) -> dict[str, SessionNote]:
        ids = list(session_ids)
        out: dict[str, SessionNote] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for r in self.db.execute("SELECT session_id, title, tags FROM session_notes WHERE"
                                     f" session_id IN ({','.join('?' * len(part))})", part):
                out[r["session_id"]] = SessionNote(title=r["title"], tags=_json_list(r["tags"]))
        return out

    def put_session_note(self, session_id: str, title: str | None, tags: list[str] | None,
                         by: str | None, submodule: str | None, at_ms: int) -> SessionNote:
        with self.tx() as db:
            db.execute("INSERT INTO session_notes (session_id, updated_at) VALUES (?, ?)"
                       " ON CONFLICT(session_id) DO NOTHING", (session_id, at_ms))
            db.execute("UPDATE session_notes SET title = coalesce(?, title), tags = coalesce(?, tags),"
                       " updated_at = ?, updated_by = ?, submodule = ? WHERE session_id = ?",
                       (title, orjson.dumps(tags).decode() if tags is not None else None, at_ms,
                        by, submodule, session_id))
            self._bump(db)
        return self.session_notes([session_id])[session_id]

    def record_write(self, token_name: str | None, submodule: str | None, action: str,
                     target: str | None, at_ms: int) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO api_writes (at, token_name, submodule, action, target)"
                       " VALUES (?, ?, ?, ?, ?)", (at_ms, token_name, submodule, action, target))
            self._bump(db)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO store_meta (key, value) VALUES ('api_generation', '1')"
                   " ON CONFLICT(key) DO UPDATE SET value = CAST(store_meta.value AS INTEGER) + 1")

    def counts(self) -> dict[str, int]:
        row = self.db.execute("SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM"
                              " sessions), (SELECT count(*) FROM projects)").fetchone()
        return {"messages": row[0], "sessions": row[1], "projects": row[2],
                "schema_version": self.schema_version()}

    def schema_version(self) -> int:
        raise NotImplementedError  # the backend's

    def generation(self) -> str:
        # ingest and import runs (started, finished), index and embedding updates, a restore
        # (a new backup_epoch) and API writes (api_generation): a few rows each.
        row = self.db.execute("""
            SELECT (SELECT coalesce(max(id), 0) || '.' || coalesce(max(finished_at), 0)
                    FROM extraction_runs),
                   (SELECT coalesce(max(updated_at), 0) FROM search_state),
                   (SELECT group_concat(value, '.') FROM store_meta
                    WHERE key IN ('backup_epoch', 'api_generation'))""").fetchone()
        return ":".join(str(v) for v in row)

    # --- pages ---------------------------------------------------------------------------
    def sessions_page(self, project_ids: tuple[int, ...] | None, after: tuple[int, str] | None,
                      limit: int) -> tuple[list[Session], tuple[int, str] | None]:
        where: list[str] = []
        args: list[Any] = []
        if project_ids is not None:
            where.append(f"s.project_id IN ({','.join('?' * len(project_ids)) or 'NULL'})")
            args += project_ids
        if after is not None:
            where.append("(coalesce(s.started_at, 0) < ? OR (coalesce(s.started_at, 0) = ?"
                         " AND s.id < ?))")
            args += [after[0], after[0], after[1]]
        sql = (f"SELECT {_SESSION_COLS}, coalesce(s.started_at, 0) AS _key FROM sessions s"
               " LEFT JOIN projects p ON p.id = s.project_id"
               f" {'WHERE ' + ' AND '.join(where) if where else ''}"
               " ORDER BY coalesce(s.started_at, 0) DESC, s.id DESC LIMIT ?")
        rows = self.db.execute(sql, (*args, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        out = []
        for r in rows:
            d = dict(r)
            d.pop("_key")
            out.append(_session_row(cast(Any, d)))
        key = (rows[-1]["_key"], rows[-1]["session_id"]) if more and rows else None
        return out, key

    def messages_page(self, where: MessageFilter, after_id: int, limit: int) -> list[PagedMessage]:
        cond = ["m.id > ?", "m.deleted_at IS NULL"]
        args: list[Any] = [after_id]
        for col, mark, values in (("m.session_id", "uuid_bytes(?)", where.session_ids),
                                  ("m.project_id", "?", where.project_ids),
                                  ("m.source_kind", "?", where.sources)):
            if values is not None:
                cond.append(f"{col} IN ({','.join([mark] * len(values)) or 'NULL'})")
                args += values
        if where.since is not None:
            cond.append("m.ts >= ?")
            args.append(where.since)
        if where.until is not None:
            cond.append("m.ts <= ?")
            args.append(where.until)
        sql = (MESSAGE_SELECT.format(cols=f"m.id, {SID} AS session_id, p.path AS project,")
               + " LEFT JOIN projects p ON p.id = m.project_id"
               + f" WHERE {' AND '.join(cond)} ORDER BY m.id LIMIT ?")
        return [cast(PagedMessage, message_row(r)) for r in self.db.execute(sql, (*args, limit))]

