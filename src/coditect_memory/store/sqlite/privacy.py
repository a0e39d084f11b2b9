"""The privacy concern of the SQLite backend (migration 0009): forget, levels, scan and
rewrite, the audit log. Plain tables and portable SQL; the SQLite-only parts are the
secure_delete / checkpoint / VACUUM that leave no freed bytes behind."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import orjson

from ...hashing import content_hash
from ..protocol.privacy import AuditRow, ForgetPlan, ForgetSelector, Forgotten
from . import rollups
from .packing import CONTENT, SID, pack_blob, sid_in, uid_in, uid_sql, uid_text, unpack_blob
from .search import vectors_changed

_CHUNK = 500
# Texts derived from content elsewhere (table, key, columns): what apply rewrites besides rows.
_OTHER = (("sessions", "id", ("title", "summary", "first_prompt")),
          ("messages", "id", ("error_signature",)),
          ("report_errors", "message_id", ("signature",)),
          ("ingest_errors", "id", ("reason",)))


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _where(sel: ForgetSelector, contains: str = f"instr({CONTENT}, ?) > 0") -> tuple[str, list[Any]]:
    """The messages a selector takes, as a WHERE clause on messages m (`contains`: the
    backend's substring test, one `?`)."""
    parts: list[str] = []
    args: list[Any] = []
    if sel.sessions:
        parts.append(f"m.session_id IN ({sid_in(len(sel.sessions))})")
        args += list(sel.sessions)
    if sel.project:
        parts.append("m.project_id IN (SELECT id FROM projects WHERE path = ? OR name = ?)")
        args += [sel.project, sel.project]
    if sel.match:
        parts.append(contains)
        args.append(sel.match)
    if sel.before_ms is not None:
        parts.append("m.ts < ?")
        args.append(sel.before_ms)
    return " AND ".join(parts) or "0", args


def _top_id(db: Any) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0])


def _ids_may_be_reused(db: Any, top_before: int, now: int) -> None:
    """SQLite gives a new row the largest id + 1: once the newest rows are deleted, the next
    rows stored reuse their ids. Sync's cursors (the last id a server took from this machine,
    the last id a machine pulled from this server) would pass over them: the push cursor is
    lowered to the largest id left (no row lies above it yet), and the floor is kept for the
    pulls of machines that have not seen it (migration 0017)."""
    left = _top_id(db)
    if left >= top_before:
        return
    db.execute("UPDATE sync_state SET push_cursor = ? WHERE push_cursor > ?", (left, left))
    db.execute("INSERT INTO sync_id_floors (floor, at) VALUES (?, ?)", (left, now))


def _reroll(db: Any, sessions: set[str | None]) -> None:
    """The report rollups of these sessions again, their ids given as parameters: through
    rollups' temp table (no statistics) both planners scanned `messages` (1-4 s at 1M rows);
    with the ids inline they use the session index (milliseconds)."""
    ids = sorted(s for s in sessions if s is not None)
    scopes = [(f"session_id IN ({sid_in(len(part))})", tuple(part))
              for part in (ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK))]
    if None in sessions:
        scopes.append(("session_id IS NULL", ()))
    for scope, args in scopes:
        for table in rollups.MAIN.values():
            db.execute(f"DELETE FROM {table} WHERE {rollups.text_scope(scope)}", args)
        rollups._fill(db, rollups.MAIN, scope, args)
    rollups._sign(db, sessions)


class SQLitePrivacy:
    """Mixed into SQLiteStore."""

    db: sqlite3.Connection
    readonly: bool
    _bump: Callable[[Any], None]  # SQLiteAccess's: a new generation (API answers cached before go)
    _contains = f"instr({CONTENT}, ?) > 0"  # a substring test (PostgreSQL: strpos)

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # SQLiteStore's

    # --- forget ------------------------------------------------------------------------
    def forget_plan(self, sel: ForgetSelector) -> ForgetPlan:
        where, args = _where(sel, self._contains)
        rows = self.db.execute(f"SELECT {SID}, count(*) FROM messages m WHERE {where}"
                               " GROUP BY m.session_id", args).fetchall()
        plan = ForgetPlan(messages=sum(r[1] for r in rows),
                          sessions=sorted(r[0] for r in rows if r[0] is not None))
        for sid, n in rows:
            if sid is not None and self.db.execute(
                    "SELECT count(*) FROM messages WHERE session_id = uuid_bytes(?)", (sid,)).fetchone()[0] == n:
                plan.whole_sessions.append(sid)
        plan.whole_sessions.sort()
        return plan

    def forget(self, sel: ForgetSelector, selector_json: str, reason: str | None, now: int,
               purge_at: int) -> Forgotten:
        where, args = _where(sel, self._contains)
        with self.tx() as db:
            db.execute("PRAGMA secure_delete = ON")
            fid = int(db.execute("INSERT INTO privacy_forgets (at, selector, reason, messages, sessions,"
                                 " purge_at) VALUES (?, ?, ?, 0, 0, ?) RETURNING id",
                                 (now, selector_json, reason, purge_at)).fetchone()[0])
            db.execute("CREATE TEMP TABLE IF NOT EXISTS privacy_take (id INTEGER PRIMARY KEY)")
            db.execute("DELETE FROM temp.privacy_take")
            db.execute(f"INSERT INTO temp.privacy_take SELECT m.id FROM messages m WHERE {where}", args)
            ids = [r[0] for r in db.execute("SELECT id FROM temp.privacy_take ORDER BY id")]
            sessions = {r[0] for r in db.execute(
                f"SELECT DISTINCT {SID} FROM messages m WHERE id IN (SELECT id FROM temp.privacy_take)")}
            held = []
            tombs = []
            cur = db.execute("SELECT * FROM messages WHERE id IN (SELECT id FROM temp.privacy_take)")
            names = [d[0] for d in cur.description]
            for row in cur:
                rec = dict(zip(names, row, strict=True))
                held.append(("message", str(rec["id"]), fid, rec.get("blob_sha256"),
                             orjson.dumps(rec, default=_hex).decode()))
                tombs.append((uid_text(rec["uid"]), fid, now))
            db.executemany("INSERT INTO privacy_held VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", held)
            db.executemany("INSERT INTO privacy_tombstones VALUES (?, ?, ?) ON CONFLICT DO NOTHING", tombs)
            top = _top_id(db)
            for table, col in (("embeddings", "message_id"), ("report_errors", "message_id"),
                               ("messages", "id")):
                db.execute(f"DELETE FROM {table} WHERE {col} IN (SELECT id FROM temp.privacy_take)")
            vectors_changed(db)
            _ids_may_be_reused(db, top, now)
            emptied = self._drop_empty_sessions(db, sessions - {None}, fid)
            kept = [s for s in sessions if s is not None and s not in emptied]
            if kept:
                db.executemany("UPDATE sessions SET dirty = 1 WHERE id = ?", [(s,) for s in kept])
            _reroll(db, set(sessions))
            db.execute("UPDATE privacy_forgets SET messages = ?, sessions = ? WHERE id = ?",
                       (len(ids), len([s for s in sessions if s is not None]), fid))
            self._bump(db)
            db.execute("DELETE FROM temp.privacy_take")
        if kept:
            self.derive_sessions()
        return Forgotten(fid, len(ids), len([s for s in sessions if s is not None]), ids)

    def derive_sessions(self) -> int:
        raise NotImplementedError  # SQLiteStore's

    def _drop_empty_sessions(self, db: sqlite3.Connection, sessions: set[str], fid: int) -> set[str]:
        """Sessions with no rows left go too (title, first prompt, summary are content),
        with their usage and file-history paths."""
        gone = set()
        for sid in sessions:
            if db.execute("SELECT 1 FROM messages WHERE session_id = uuid_bytes(?) LIMIT 1", (sid,)).fetchone():
                continue
            cur = db.execute("SELECT * FROM sessions WHERE id = ?", (sid,))
            row = cur.fetchone()
            if row is not None:
                rec = dict(zip([d[0] for d in cur.description], row, strict=True))
                db.execute("INSERT INTO privacy_held VALUES ('session', ?, ?, NULL, ?)"
                           " ON CONFLICT DO NOTHING", (sid, fid, orjson.dumps(rec, default=_hex).decode()))
            for table, col in (("sessions", "id = ?"), ("api_usage", "session_id = uuid_bytes(?)"),
                               ("file_backups", "session_id = ?")):  # api_usage: 0028
                db.execute(f"DELETE FROM {table} WHERE {col}", (sid,))
            gone.add(sid)
        return gone

    def purge_forgotten(self, due_before: int | None, forget_id: int | None = None) -> int:
        with self.tx() as db:
            db.execute("PRAGMA secure_delete = ON")
            due = [r[0] for r in db.execute(
                "SELECT id FROM privacy_forgets WHERE purged_at IS NULL"
                + ("" if due_before is None else " AND purge_at <= ?")
                + ("" if forget_id is None else " AND id = ?"),
                [a for a in (due_before, forget_id) if a is not None])]
            n = 0
            for fid in due:
                blobs = [r[0] for r in db.execute(
                    "SELECT DISTINCT blob_sha256 FROM privacy_held WHERE forget_id = ?"
                    " AND blob_sha256 IS NOT NULL", (fid,))]
                n += db.execute("DELETE FROM privacy_held WHERE forget_id = ?", (fid,)).rowcount
                for i in range(0, len(blobs), _CHUNK):  # a blob another row still uses stays
                    part = blobs[i:i + _CHUNK]  # one statement a chunk: one pass over messages
                    db.execute(f"DELETE FROM blobs WHERE sha256 IN ({_marks(len(part))}) AND NOT EXISTS"
                               " (SELECT 1 FROM messages m WHERE m.blob_sha256 = blobs.sha256) AND NOT"
                               " EXISTS (SELECT 1 FROM privacy_held h WHERE h.blob_sha256 = blobs.sha256)",
                               part)
                db.execute("UPDATE privacy_forgets SET purge_at = NULL, purged_at = ? WHERE id = ?",
                           (_now(), fid))
        if due:
            self.scrub()
        return n

    def tombstoned(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT uid FROM privacy_tombstones")}

    def add_tombstones(self, uids: list[str], now: int) -> int:
        have = self.tombstoned()
        new = [u for u in dict.fromkeys(uids) if u not in have]
        stored = []
        for i in range(0, len(new), _CHUNK):
            part = new[i:i + _CHUNK]
            stored += [r[0] for r in self.db.execute(
                f"SELECT {uid_sql('uid')} FROM messages WHERE uid IN ({uid_in(len(part))})", part)]
        if stored:
            self._forget_uids(stored, now)
        with self.tx() as db:
            db.executemany("INSERT INTO privacy_tombstones VALUES (?, 0, ?) ON CONFLICT DO NOTHING",
                           [(u, now) for u in new])
            self._bump(db)
        return len(stored)

    def _forget_uids(self, uids: list[str], now: int) -> None:
        """Hard-remove these rows at once (a restore applying tombstones it carried)."""
        with self.tx() as db:
            db.execute("PRAGMA secure_delete = ON")
            db.execute("CREATE TEMP TABLE IF NOT EXISTS privacy_uids (uid TEXT PRIMARY KEY)")
            db.execute("DELETE FROM temp.privacy_uids")
            db.executemany("INSERT OR IGNORE INTO temp.privacy_uids VALUES (uid_bytes(?))",  # as stored
                           [(u,) for u in uids])
            sessions = {r[0] for r in db.execute(
                f"SELECT DISTINCT {SID} FROM messages m WHERE uid IN (SELECT uid FROM temp.privacy_uids)")}
            take = "(SELECT id FROM messages WHERE uid IN (SELECT uid FROM temp.privacy_uids))"
            db.execute(f"DELETE FROM embeddings WHERE message_id IN {take}")
            vectors_changed(db)
            db.execute(f"DELETE FROM report_errors WHERE message_id IN {take}")
            top = _top_id(db)
            db.execute("DELETE FROM messages WHERE uid IN (SELECT uid FROM temp.privacy_uids)")
            _ids_may_be_reused(db, top, now)
            db.execute("DELETE FROM blobs WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE"
                       " m.blob_sha256 = blobs.sha256) AND NOT EXISTS (SELECT 1 FROM privacy_held h"
                       " WHERE h.blob_sha256 = blobs.sha256)")
            fid = int(db.execute("INSERT INTO privacy_forgets (at, selector, reason, messages,"
                                 " sessions, purged_at) VALUES (?, '{\"tombstones\": true}', 'restore',"
                                 " ?, ?, ?) RETURNING id", (now, len(uids), len(sessions), now)).fetchone()[0])
            emptied = self._drop_empty_sessions(db, sessions - {None}, fid)
            db.execute("DELETE FROM privacy_held WHERE kind = 'session' AND forget_id = ?", (fid,))
            kept = [s for s in sessions if s is not None and s not in emptied]
            db.executemany("UPDATE sessions SET dirty = 1 WHERE id = ?", [(s,) for s in kept])
            _reroll(db, set(sessions))
        self.derive_sessions()
        self.scrub()

    def scrub(self, vacuum: bool = False) -> None:
        """The WAL folded into the store and truncated: its old frames held every row as first
        written. Deleted rows were already zeroed in place (secure_delete); `vacuum` also
        rewrites the whole file (slow on a large store)."""
        db = self.db
        db.execute("PRAGMA secure_delete = ON")
        if vacuum:
            db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- levels ------------------------------------------------------------------------
    def privacy_levels(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.db.execute(
            "SELECT scope, name, level FROM privacy_levels ORDER BY scope, name")]

    def set_privacy_level(self, scope: str, name: str, level: str, now: int) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO privacy_levels VALUES (?, ?, ?, ?) ON CONFLICT(scope, name)"
                       " DO UPDATE SET level = excluded.level, set_at = excluded.set_at",
                       (scope, name, level, now))
            self._bump(db)

    # --- scan / apply --------------------------------------------------------------------
    def privacy_texts(self, after_id: int, limit: int) -> list[tuple[int, str | None, str | None, str | None]]:
        unpack = self.meta_codec.text  # type: ignore[attr-defined]  # the backend's (packing.py)
        return [(r[0], r[1], unpack(self.db, r[2], r[3]), r[4]) for r in self.db.execute(
            f"SELECT m.id, {CONTENT}, m.metadata, m.metadata_z, {SID} FROM messages m WHERE m.id > ?"
            " ORDER BY m.id LIMIT ?", (after_id, limit))]

    def rewrite_texts(self, rows: list[tuple[int, str | None, str | None]]) -> None:
        with self.tx() as db:
            db.execute("PRAGMA secure_delete = ON")
            derived = self.packs_content  # type: ignore[attr-defined]  # HASH reads the text's
            for mid, content, meta in rows:  # row by row: the backup triggers log each one
                chash = (None if derived else content_hash(content),) if content is not None else ()
                db.execute("UPDATE messages SET content = ?, content_z = NULL, metadata = ?, metadata_z = NULL"
                           + (", content_hash = ?" if chash else "") + " WHERE id = ?",
                           (content, meta, *chash, mid))

    def privacy_other_texts(self) -> Iterator[tuple[str, str, str, str]]:
        for table, key, cols in _OTHER:
            for row in self.db.execute(f"SELECT {key}, {', '.join(cols)} FROM {table}").fetchall():
                for col, text in zip(cols, row[1:], strict=True):
                    if isinstance(text, str) and text:
                        yield table, str(row[0]), col, text

    def rewrite_other_texts(self, rows: list[tuple[str, str, str, str]]) -> None:
        keys = {table: key for table, key, _ in _OTHER}
        cols = {(table, col) for table, _, cs in _OTHER for col in cs}
        with self.tx() as db:
            db.execute("PRAGMA secure_delete = ON")
            for table, key, col, text in rows:
                if (table, col) not in cols:
                    raise ValueError(f"{table}.{col} is not a privacy text")
                db.execute(f"UPDATE {table} SET {col} = ? WHERE {keys[table]} = ?", (text, key))

    def privacy_blobs(self) -> Iterator[tuple[str, bytes]]:
        for (sha,) in self.db.execute("SELECT sha256 FROM blobs WHERE is_text = 1").fetchall():
            row = self.db.execute("SELECT data, size FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
            if row is not None:
                yield sha, bytes(unpack_blob(row[0], row[1]) or b"")

    def rewrite_blob(self, old_sha: str, data: bytes) -> None:
        new_sha = hashlib.sha256(data).hexdigest()
        with self.tx() as db:
            db.execute("PRAGMA secure_delete = ON")
            db.execute("INSERT INTO blobs (sha256, size, is_text, data) VALUES (?, ?, 1, ?)"
                       " ON CONFLICT(sha256) DO NOTHING",
                       (new_sha, len(data), pack_blob(data) if self.packs_content  # type: ignore[attr-defined]
                        else data))
            db.execute("UPDATE messages SET blob_sha256 = ?, content_hash = ? WHERE blob_sha256 = ?",
                       (new_sha, new_sha, old_sha))
            db.execute("DELETE FROM blobs WHERE sha256 = ?", (old_sha,))

    # --- audit -------------------------------------------------------------------------
    def audit_append(self, make: Callable[[int, str | None], AuditRow]) -> AuditRow:
        with self.tx() as db:
            last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            if last is None:
                last = db.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
            row = make(last[0] if last else 0, last[1] if last else None)
            db.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (row.seq, row.at, row.actor, row.action, row.target, row.reason, row.detail,
                        row.prev_hash, row.hash))
            return row

    def audit_rows(self, since_ms: int | None = None, after_seq: int = 0,
                   limit: int = 10_000) -> list[AuditRow]:
        sql = "SELECT * FROM audit_log WHERE seq > ?"
        args: list[Any] = [after_seq]
        if since_ms is not None:
            sql += " AND at >= ?"
            args.append(since_ms)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        return [AuditRow(*r) for r in self.db.execute(sql, args)]

    def audit_anchor(self) -> tuple[int, str] | None:
        row = self.db.execute("SELECT seq, hash FROM audit_anchor WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def audit_drop_before(self, at_ms: int) -> int:
        with self.tx() as db:
            last = db.execute("SELECT seq, hash FROM audit_log WHERE at < ? ORDER BY seq DESC LIMIT 1",
                              (at_ms,)).fetchone()
            if last is None:
                return 0
            n = db.execute("DELETE FROM audit_log WHERE seq <= ?", (last[0],)).rowcount
            db.execute("INSERT INTO audit_anchor VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                       " seq = excluded.seq, hash = excluded.hash", (last[0], last[1]))
            return int(n)


def _hex(value: Any) -> str:
    """A held row's bytes (packed metadata, migration 0016) as hex: JSON has no bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _now() -> int:
    import time

    return int(time.time() * 1000)
