"""The SQLite backend's side of syncing mutable records (store/protocol/sync_mutable.py):
reading each record's local value, writing a central value into the local tables, the sync
state, the conflicts, and the server's log. Plain SQL PostgreSQL runs through the dialect.

Values are compared as parsed JSON; they are stored with sorted keys so equal values are equal
text too."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any

import orjson

from ...failpoints import failpoint
from ..protocol.sync_mutable import (
    ACCEPT,
    ADOPT,
    APPLY,
    CONFLICT,
    SKIP,
    CentralRecord,
    ClientRule,
    Conflict,
    LocalRecord,
    Pushed,
    ServerRule,
    Value,
)

SERVER = "server"  # the machine name of changes made on the server itself
_MEMORY = ("SELECT m.id, p.path, m.type, m.text, m.norm, m.pinned, m.status, m.origin FROM memories m"
           " LEFT JOIN projects p ON p.id = m.project_id")
_STATE = "SELECT kind, key, local_id, ident, base, central, synced FROM sync_mutable_state"


def _dump(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _load(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def memory_key(ident: list[Any]) -> str:
    """A memory's record key: a hash of [project path, type, normalised text]."""
    return hashlib.sha256(orjson.dumps(ident)).hexdigest()[:32]


def _touched(row: Any) -> bool:
    """A person's hand is on this memory (added, edited, pinned or forgotten): worth syncing."""
    return bool(row[7] == "user" or row[5] or row[6] == "forgotten")


def _memory_value(row: Any, ident: list[Any]) -> dict[str, Any]:
    return {"ident": ident, "type": row[2], "text": row[3], "norm": row[4],
            "pinned": bool(row[5]), "deleted": row[6] == "forgotten"}


def _note_value(row: Any) -> dict[str, Any]:
    return {"title": row[1], "tags": orjson.loads(row[2] or "[]")}


class SQLiteSyncMutable:
    # Provided by SQLiteStore.
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        raise NotImplementedError  # SQLiteAccess's: the API's cache sees the change

    # --- reading local values -------------------------------------------------------
    def mutable_records(self) -> list[LocalRecord]:
        return self._sm_records(self.db)

    def _sm_records(self, db: sqlite3.Connection) -> list[LocalRecord]:
        state = {(r[0], r[1]): r for r in db.execute(_STATE)}
        out: dict[tuple[str, str], LocalRecord] = {}
        for r in db.execute("SELECT n.session_id, n.title, n.tags, p.path FROM session_notes n"
                            " LEFT JOIN sessions s ON s.id = n.session_id"
                            " LEFT JOIN projects p ON p.id = s.project_id"):
            out["note", r[0]] = LocalRecord("note", r[0], _note_value(r), project=r[3], session=r[0])
        levels = db.execute("SELECT scope, name, level FROM privacy_levels").fetchall()
        sessions = self._sm_session_projects(db, [r[1] for r in levels if r[0] == "session"])
        for scope, name, level in levels:
            project = name if scope == "project" else sessions.get(name)
            out["level", f"{scope}:{name}"] = LocalRecord(
                "level", f"{scope}:{name}", {"level": level}, project=project,
                session=name if scope == "session" else None)
        by_local = {r[2]: r for r in state.values() if r[0] == "memory" and r[2] is not None}
        for m in db.execute(f"{_MEMORY} WHERE m.origin = 'user' OR m.pinned = 1 OR m.status ="
                            " 'forgotten' OR m.id IN (SELECT local_id FROM sync_mutable_state"
                            " WHERE kind = 'memory' AND local_id IS NOT NULL)"):
            st = by_local.get(m[0])
            ident = _load(st[3]) if st else [m[1], m[2], m[4]]
            key = st[1] if st else memory_key(ident)
            if st is None and ("memory", key) in state:
                continue  # a record not resolved here yet: the next pull settles it
            out["memory", key] = LocalRecord("memory", key, _memory_value(m, ident), project=ident[0],
                                             local_id=m[0])
        for (kind, key), st in state.items():
            rec = out.get((kind, key))
            if rec is None:  # synced once, absent here now (or a memory not resolved yet)
                central = _load(st[5])
                rec = out[kind, key] = LocalRecord(
                    kind, key, None, project=(central or {}).get("ident", [None])[0]
                    if kind == "memory" else None)
            rec.base, rec.synced = st[4], _load(st[6])
        return list(out.values())

    def _sm_local(self, db: sqlite3.Connection, kind: str, key: str, central: Value) -> LocalRecord:
        """One record's local state (a memory known to no state yet: found by the identity
        in `central`; one a person did not touch counts as unchanged here)."""
        st = db.execute(f"{_STATE} WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        rec = LocalRecord(kind, key, None)
        if st is not None:
            rec.base, rec.synced, rec.local_id = st[4], _load(st[6]), st[2]
        if kind == "note":
            r = db.execute("SELECT session_id, title, tags FROM session_notes WHERE session_id = ?",
                           (key,)).fetchone()
            rec.value = _note_value(r) if r else None
        elif kind == "level":
            scope, _, name = key.partition(":")
            r = db.execute("SELECT level FROM privacy_levels WHERE scope = ? AND name = ?",
                           (scope, name)).fetchone()
            rec.value = {"level": r[0]} if r else None
        elif st is not None and st[2] is not None:
            m = db.execute(f"{_MEMORY} WHERE m.id = ?", (st[2],)).fetchone()
            rec.value = _memory_value(m, _load(st[3])) if m else None
        else:  # not resolved here yet: judged as if never synced
            ident = (_load(st[3]) if st else None) or (central or {}).get("ident")
            m = self._sm_by_ident(db, ident) if ident else None
            rec.base, rec.synced = 0, None
            if m is not None and ident:  # one a person did not touch counts as unchanged here
                rec.value, rec.local_id = _memory_value(m, ident), m[0]
                rec.synced = None if _touched(m) else rec.value
        return rec

    def _sm_by_ident(self, db: sqlite3.Connection, ident: list[Any]) -> Any:
        pid = self._sm_project_id(db, ident[0])
        if pid is None:
            return None
        return db.execute(f"{_MEMORY} WHERE m.project_id = ? AND m.type = ? AND m.norm = ?",
                          (pid, ident[1], ident[2])).fetchone()

    @staticmethod
    def _sm_project_id(db: sqlite3.Connection, path: str | None) -> int | None:
        if path is None:
            return 0
        r = db.execute("SELECT id FROM projects WHERE path = ?", (path,)).fetchone()
        return int(r[0]) if r else None

    def session_projects(self, session_ids: list[str]) -> dict[str, str | None]:
        return self._sm_session_projects(self.db, session_ids)

    @staticmethod
    def _sm_session_projects(db: sqlite3.Connection, ids: Iterable[str]) -> dict[str, str | None]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, str | None] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            out.update((r[0], r[1]) for r in db.execute(
                "SELECT s.id, p.path FROM sessions s LEFT JOIN projects p ON p.id = s.project_id"
                f" WHERE s.id IN ({', '.join('?' * len(part))})", part))
        return out

    # --- writing a value into the local tables -----------------------------------------
    def _sm_write(self, db: sqlite3.Connection, kind: str, key: str, value: Value,
               local_id: int | None) -> int | None:
        """Make `value` the local value; returns the memory's id (None: its project is not
        in this store yet, so it could not be written)."""
        now = int(time.time() * 1000)
        if kind == "note":
            if value is None:
                db.execute("DELETE FROM session_notes WHERE session_id = ?", (key,))
            else:
                db.execute("INSERT INTO session_notes (session_id, title, tags, updated_at, updated_by)"
                           " VALUES (?, ?, ?, ?, 'sync') ON CONFLICT(session_id) DO UPDATE SET"
                           " title = excluded.title, tags = excluded.tags,"
                           " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                           (key, value["title"], orjson.dumps(value["tags"]).decode(), now))
            return None
        if kind == "level":
            scope, _, name = key.partition(":")
            if value is None:
                db.execute("DELETE FROM privacy_levels WHERE scope = ? AND name = ?", (scope, name))
            else:
                db.execute("INSERT INTO privacy_levels VALUES (?, ?, ?, ?) ON CONFLICT(scope, name)"
                           " DO UPDATE SET level = excluded.level, set_at = excluded.set_at",
                           (scope, name, value["level"], now))
            return None
        return self._sm_write_memory(db, value, local_id, now) if value is not None else local_id

    def _sm_write_memory(self, db: sqlite3.Connection, value: dict[str, Any], local_id: int | None,
                      now: int) -> int | None:
        ident = value["ident"]
        pid = self._sm_project_id(db, ident[0])
        if pid is None:
            return None
        if local_id is None or not db.execute("SELECT 1 FROM memories WHERE id = ?", (local_id,)).fetchone():
            row = db.execute("SELECT id FROM memories WHERE project_id = ? AND type = ? AND norm = ?",
                             (pid, ident[1], ident[2])).fetchone()
            local_id = row[0] if row else None
        # a forgotten memory keeps its first text's norm: extraction finding it again leaves it forgotten
        norm = ident[2] if value["deleted"] else value["norm"]
        if local_id is None:
            return int(db.execute(
                "INSERT INTO memories (project_id, type, text, norm, importance, pinned, origin, status,"
                " first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, 0.8, ?, 'user', ?, ?, ?, ?)"
                " ON CONFLICT (project_id, type, norm) DO UPDATE SET text = excluded.text,"
                " pinned = excluded.pinned, status = excluded.status, origin = 'user',"
                " updated_at = excluded.updated_at RETURNING id",
                (pid, value["type"], value["text"], norm, int(value["pinned"]),
                 "forgotten" if value["deleted"] else "active", now, now, now)).fetchone()[0])
        taken = db.execute("SELECT 1 FROM memories WHERE project_id = ? AND type = ? AND norm = ?"
                           " AND id <> ?", (pid, value["type"], value["norm"], local_id)).fetchone()
        # another memory holds that type and text: this one keeps its own (no two alike)
        kind_norm = "" if taken else ", type = ?, norm = ?"
        db.execute(f"UPDATE memories SET text = ?, pinned = ?, origin = 'user', updated_at = ?{kind_norm},"
                   " status = CASE WHEN ? = 1 THEN 'forgotten' WHEN status = 'forgotten' THEN 'active'"
                   " ELSE status END WHERE id = ?",
                   (value["text"], int(value["pinned"]), now,
                    *(() if taken else (value["type"], value["norm"])), int(value["deleted"]), local_id))
        return local_id

    def _sm_keep(self, db: sqlite3.Connection, c: CentralRecord, local_id: int | None,
              synced: Value) -> None:
        """The record's sync state: derived from central revision `c`."""
        ident = (c.value or synced or {}).get("ident") if c.kind == "memory" else None
        db.execute("INSERT INTO sync_mutable_state (kind, key, local_id, ident, base, central, synced)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, key) DO UPDATE SET"
                   " local_id = excluded.local_id, ident = coalesce(sync_mutable_state.ident,"
                   " excluded.ident), base = excluded.base, central = excluded.central,"
                   " synced = excluded.synced",
                   (c.kind, c.key, local_id, _dump(ident), c.revision, _dump(c.value), _dump(synced)))

    def _sm_apply(self, db: sqlite3.Connection, c: CentralRecord, local: LocalRecord) -> bool:
        """Central record `c` becomes the local value; False: a memory whose project is not
        here yet (its state keeps the central value; later calls try again)."""
        local_id = self._sm_write(db, c.kind, c.key, c.value, local.local_id)
        if c.kind == "memory" and local_id is None:
            self._sm_keep(db, c, None, None)
            return False
        if c.kind == "memory":
            row = db.execute(f"{_MEMORY} WHERE m.id = ?", (local_id,)).fetchone()
            synced = _memory_value(row, c.value["ident"]) if c.value else None
        else:
            synced = self._sm_local(db, c.kind, c.key, c.value).value
        self._sm_keep(db, c, local_id, synced)  # what it reads as here: unchanged until a person changes it
        return True

    # --- a client settling central versions ----------------------------------------------
    def mutable_settle(self, central: list[tuple[CentralRecord, LocalRecord | None]],
                       rule: ClientRule, cursor: int | None = None) -> dict[str, int]:
        counts = {ADOPT: 0, APPLY: 0, CONFLICT: 0, SKIP: 0, "unresolved": 0}
        with self.tx() as db:
            # a pull also tries again the memories that waited for their project
            waiting = [] if cursor is None else [
                (CentralRecord("memory", r[1], r[4], _load(r[5])), None) for r in db.execute(
                    f"{_STATE} WHERE kind = 'memory' AND local_id IS NULL AND central IS NOT NULL")]
            wrote = False
            for c, sent in [*waiting, *central]:
                local = self._sm_local(db, c.kind, c.key, c.value)
                what = rule(local, c)
                if what == ADOPT:
                    self._sm_keep(db, c, local.local_id, sent.value if sent is not None else c.value)
                elif what in (APPLY, CONFLICT):
                    if what == CONFLICT:
                        db.execute("INSERT INTO sync_mutable_conflicts (kind, key, local, central,"
                                   " revision, machine, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   (c.kind, c.key, _dump(local.value), _dump(c.value), c.revision,
                                    c.machine or None, int(time.time() * 1000)))
                    wrote = True
                    if not self._sm_apply(db, c, local):
                        what = "unresolved"
                counts[what] += 1
            if cursor is not None:
                db.execute("INSERT INTO sync_mutable_cursor (name, value) VALUES ('pull', ?)"
                           " ON CONFLICT(name) DO UPDATE SET value = excluded.value", (cursor,))
            if wrote:
                self._bump(db)
        return counts

    def mutable_cursor(self) -> int:
        r = self.db.execute("SELECT value FROM sync_mutable_cursor WHERE name = 'pull'").fetchone()
        return int(r[0]) if r else 0

    def mutable_fingerprint(self) -> tuple[int, ...]:
        # a time's sum modulo two primes (no overflow at any size) and its maximum: an edit
        # changes one of them unless it moved a time by a multiple of both (~31 years); the
        # values' lengths catch an edit within the same millisecond
        times = ("count(*), coalesce(max({t}), 0), coalesce(sum({t} % 1000003), 0),"
                 " coalesce(sum({t} % 999983), 0), coalesce(sum({v}), 0)")
        row = self.db.execute(
            "SELECT * FROM"
            f" (SELECT {times.format(t='updated_at', v='length(title) + 7 * length(tags)')}"
            "   FROM session_notes) n,"
            f" (SELECT {times.format(t='set_at', v='length(level)')} FROM privacy_levels) l,"
            f" (SELECT {times.format(t='updated_at', v='length(text) + 7 * length(type)')},"
            "   coalesce(sum(pinned), 0),"
            "   coalesce(sum(CASE WHEN status = 'forgotten' THEN 1 ELSE 0 END), 0),"
            "   coalesce(sum(CASE WHEN origin = 'user' THEN 1 ELSE 0 END), 0) FROM memories) m,"
            " (SELECT count(*), coalesce(sum(base), 0), coalesce(max(base), 0),"
            "   coalesce(sum(local_id), 0) FROM sync_mutable_state) st,"
            " (SELECT count(*) FROM sync_mutable_conflicts) c,"
            " (SELECT count(*) FROM sessions) s").fetchone()
        return tuple(int(v) for v in row)

    def mutable_unlink(self) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM sync_mutable_cursor")
            # a memory keeps the identity it is known by (its key); notes and levels are keyed
            # by session and scope alone
            db.execute("DELETE FROM sync_mutable_state WHERE kind <> 'memory' OR local_id IS NULL")
            db.execute("UPDATE sync_mutable_state SET base = 0, central = NULL, synced = NULL")

    # --- conflicts --------------------------------------------------------------------
    @staticmethod
    def _sm_conflict(r: Any) -> Conflict:
        return Conflict(id=r[0], kind=r[1], key=r[2], local=_load(r[3]), central=_load(r[4]),
                        revision=r[5], machine=r[6], at=r[7])

    _SM_CONFLICTS = "SELECT id, kind, key, local, central, revision, machine, at FROM sync_mutable_conflicts"

    def mutable_conflicts(self) -> list[Conflict]:
        return [self._sm_conflict(r) for r in self.db.execute(f"{self._SM_CONFLICTS} ORDER BY id")]

    def reapply_conflict(self, conflict_id: int) -> Conflict | None:
        with self.tx() as db:
            r = db.execute(f"{self._SM_CONFLICTS} WHERE id = ?", (conflict_id,)).fetchone()
            if r is None:
                return None
            c = self._sm_conflict(r)
            local = self._sm_local(db, c.kind, c.key, c.local)
            local_id = self._sm_write(db, c.kind, c.key, c.local, local.local_id)
            if c.kind == "memory" and local_id is not None:  # the state's base stays: it wins on push
                db.execute("UPDATE sync_mutable_state SET local_id = ? WHERE kind = 'memory' AND key = ?",
                           (local_id, c.key))
            db.execute("DELETE FROM sync_mutable_conflicts WHERE id = ?", (conflict_id,))
            self._bump(db)
        return c

    def dismiss_conflict(self, conflict_id: int) -> Conflict | None:
        with self.tx() as db:
            r = db.execute(f"{self._SM_CONFLICTS} WHERE id = ?", (conflict_id,)).fetchone()
            if r is not None:
                db.execute("DELETE FROM sync_mutable_conflicts WHERE id = ?", (conflict_id,))
        return self._sm_conflict(r) if r is not None else None

    # --- the server's log ------------------------------------------------------------------
    def _sm_central(self, db: sqlite3.Connection, kind: str, key: str) -> CentralRecord | None:
        r = db.execute("SELECT kind, key, revision, value, machine, project, seq FROM sync_mutable_log"
                       " WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return CentralRecord(r[0], r[1], r[2], _load(r[3]), r[4], r[5], r[6]) if r else None

    def _sm_log(self, db: sqlite3.Connection, kind: str, key: str, value: Value, project: str | None,
             machine: str, now: int) -> CentralRecord:
        """A new central revision (writers hold the store's write lock: seq is taken in order)."""
        cur = self._sm_central(db, kind, key)
        rev = (cur.revision if cur else 0) + 1
        seq = int(db.execute("SELECT coalesce(max(seq), 0) + 1 FROM sync_mutable_log").fetchone()[0])
        db.execute("INSERT INTO sync_mutable_log (kind, key, revision, value, project, machine,"
                   " updated_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, key) DO UPDATE"
                   " SET revision = excluded.revision, value = excluded.value, project = excluded.project,"
                   " machine = excluded.machine, updated_at = excluded.updated_at, seq = excluded.seq",
                   (kind, key, rev, _dump(value), project, machine, now, seq))
        return CentralRecord(kind, key, rev, value, machine, project, seq)

    def _sm_fold(self, db: sqlite3.Connection, now: int) -> int:
        n = 0
        for rec in self._sm_records(db):
            if rec.dirty:
                c = self._sm_log(db, rec.kind, rec.key, rec.value, rec.project, SERVER, now)
                self._sm_keep(db, c, rec.local_id, rec.value)
                n += 1
        return n

    def mutable_log_fold(self, now: int) -> int:
        if not any(r.dirty for r in self.mutable_records()):
            return 0  # no write transaction when nothing changed (every pull asks)
        with self.tx() as db:
            return self._sm_fold(db, now)

    def mutable_log_push(self, pushed: list[Pushed], machine: str, rule: ServerRule,
                         now: int) -> list[tuple[str, CentralRecord]]:
        out: list[tuple[str, CentralRecord]] = []
        with self.tx() as db:
            self._sm_fold(db, now)
            accepted = False
            for p in pushed:
                cur = self._sm_central(db, p.kind, p.key)
                what = rule(cur, p.base, p.value)
                if what == ACCEPT:
                    cur = self._sm_log(db, p.kind, p.key, p.value, p.project, machine, now)
                    self._sm_apply(db, cur, self._sm_local(db, p.kind, p.key, p.value))
                    accepted = True
                assert cur is not None  # SAME and REJECT answer with what the server holds
                out.append((what, cur))
            failpoint("sync-mutable:server-logged")  # written, not committed
            if accepted:
                self._bump(db)
        return out

    def mutable_log_since(self, after_seq: int, limit: int, not_machine: str | None,
                          projects: frozenset[str] | None) -> tuple[list[CentralRecord], int, bool]:
        rows = self.db.execute("SELECT kind, key, revision, value, machine, project, seq FROM"
                               " sync_mutable_log WHERE seq > ? ORDER BY seq LIMIT ?",
                               (after_seq, limit)).fetchall()
        out = [CentralRecord(r[0], r[1], r[2], _load(r[3]), r[4], r[5], r[6]) for r in rows
               if r[4] != not_machine and (projects is None or r[5] in projects)]
        return out, (rows[-1][6] if rows else after_seq), len(rows) == limit

    # --- change marking ---------------------------------------------------------------
    def _sync_identity(self, db: sqlite3.Connection, memory_id: int) -> None:
        """Before a person edits a memory: remember the identity (project, type, text) other
        machines know it by, so the edit reaches their copy rather than making a new one."""
        if db.execute("SELECT 1 FROM sync_mutable_state WHERE kind = 'memory' AND local_id = ?",
                      (memory_id,)).fetchone():
            return
        m = db.execute(f"{_MEMORY} WHERE m.id = ?", (memory_id,)).fetchone()
        if m is not None:
            ident = [m[1], m[2], m[4]]
            db.execute("INSERT INTO sync_mutable_state (kind, key, local_id, ident) VALUES"
                       " ('memory', ?, ?, ?) ON CONFLICT DO NOTHING",
                       (memory_key(ident), memory_id, _dump(ident)))
