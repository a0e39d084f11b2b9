"""Code steps of migrations: what SQL cannot compute, because the rule lives in Python."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ...derive import row_facts
from ...derive.signatures import HEAD
from ...failpoints import failpoint
from .packing import pack_blob

CHUNK = 50_000
_NOTHING = (0, None, None, None)


def fill_row_facts(db: sqlite3.Connection) -> None:
    """Migration 7: the derived columns of the rows already stored, written only where they
    are not the default (prompts, rows that count for a name, errors), in id order.

    The backup update trigger of messages is dropped first: the ALTERs moved the schema
    cookie, so the next backup is a full one anyway, and logging a million updates would
    only fill the change log. `changes.settle_triggers` re-creates it right after migrating
    (on a backed-up store)."""
    db.execute('DROP TRIGGER IF EXISTS "backup_u_messages"')
    last = 0
    while True:
        rows = db.execute(f"""
            SELECT id, type, source_kind, is_meta, is_sidechain, component, is_error, tool_name,
                   CASE WHEN is_error = 1 THEN substr(content, 1, {HEAD}) END
            FROM messages WHERE id > ? ORDER BY id LIMIT {CHUNK}""", (last,)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        out = []
        for mid, type_, kind, is_meta, side, comp, is_error, tool, content in rows:
            facts = row_facts(type_, kind, bool(is_meta), bool(side), comp, bool(is_error), tool,
                              content)
            if facts != _NOTHING:
                out.append((*facts, mid))
        db.executemany("UPDATE messages SET is_prompt = ?, count_kind = ?, count_name = ?,"
                       " error_signature = ? WHERE id = ?", out)


def pack_blobs(db: sqlite3.Connection) -> None:
    """Migration 25: the blobs stored plain, packed where that is shorter (packing.pack_blob),
    a few hundred at a time in key order (file versions: ~23,000 blobs, 54 MB at 1M messages).
    Only rows that change are written (each lands in the backup change log)."""
    last = ""
    while rows := db.execute("SELECT sha256, data FROM blobs WHERE sha256 > ? AND length(data) = size"
                             " ORDER BY sha256 LIMIT 500", (last,)).fetchall():
        last = rows[-1][0]
        packed = [(pack_blob(bytes(data)), sha) for sha, data in rows]
        db.executemany("UPDATE blobs SET data = ? WHERE sha256 = ?",
                       [(data, sha) for (data, sha), (_, old) in zip(packed, rows, strict=True)
                        if len(data) < len(old)])


def _as_bytes(db: sqlite3.Connection, column: str, to_bytes: str, table: str = "messages") -> None:
    """Every text value of `table.column` that `to_bytes` (a SQL function of packing.py)
    turns into bytes, as new rows store it, in one statement: the column is an identity or
    every filter compares with that form, so one form per value. The table's backup update
    trigger is dropped first, as in fill_row_facts (the next backup is a full one: the schema
    cookie moved)."""
    db.execute(f'DROP TRIGGER IF EXISTS "backup_u_{table}"')
    db.execute(f"UPDATE {table} SET {column} = {to_bytes}({column}) WHERE typeof({column}) = 'text'"
               f" AND typeof({to_bytes}({column})) = 'blob'")


def pack_uids(db: sqlite3.Connection) -> None:
    """Migration 25: every uid of 32 lowercase hex digits as its 16 bytes (packing.uid_key):
    a uid is an identity (ingest's ON CONFLICT, sync, forget)."""
    _as_bytes(db, "uid", "uid_bytes")


def migrate_25(db: sqlite3.Connection) -> None:
    pack_blobs(db)
    failpoint("migrate-25:blobs-packed")  # one transaction: a kill here leaves the store as it was
    pack_uids(db)


def pack_session_ids(db: sqlite3.Connection) -> None:
    """Migration 27: every session id of messages that is a lowercase canonical uuid as its 16
    bytes (packing.uuid_key)."""
    _as_bytes(db, "session_id", "uuid_bytes")
    failpoint("migrate-27:converted")  # one transaction: a kill here leaves the store as it was


def pack_usage_session_ids(db: sqlite3.Connection) -> None:
    """Migration 28: api_usage's session ids as messages' (packing.uuid_key), so the usage of
    a session is found with the same key."""
    _as_bytes(db, "session_id", "uuid_bytes", "api_usage")
    failpoint("migrate-28:converted")  # one transaction: a kill here leaves the store as it was


def keys_as_bytes(db: sqlite3.Connection) -> None:
    """Rows written as PostgreSQL keeps them (a backup chain's deltas applied to its SQLite
    image) in SQLite's forms: uids and session ids as bytes (migrations 25, 27, 28)."""
    pack_uids(db)
    _as_bytes(db, "session_id", "uuid_bytes")
    _as_bytes(db, "session_id", "uuid_bytes", "api_usage")


# migration version -> its code step, run in the migration's transaction after its SQL
STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {7: fill_row_facts, 25: migrate_25,
                                                          27: pack_session_ids,
                                                          28: pack_usage_session_ids}
