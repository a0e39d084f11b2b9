"""Change tracking for incremental backups: what changed since a backup, without reading the
whole store.

Every table gets three small triggers (made here, so a table a later migration adds is
covered too) once the store has a backup: the first backup makes them in the transaction that
raises its marks, so a store never backed up (a new user's first big ingest) pays nothing per
row. Each backup first raises `backup_marks`, per table, to the highest rowid it has; from
then on:

- a row *above* a table's mark is new since that backup: found by a rowid range scan;
- an insert, update or delete of a row *at or below* the mark is written to
  `backup_changes` (for messages with the old uid and content hash).

Ingest appends rows above the marks, so the triggers cost one comparison per row and the
log stays small (updates of old rows: session facts, file watermarks, rollups).

A backup records its *position*, read in the same read transaction as its data: the log
sequence number, the marks, and how many rows (and which message digest) sit above the
marks. An incremental is then: every row above the parent's marks, plus the current version
of every row the log names since the parent's sequence number, plus the list of those rows
(deleted ones are absent). Restore applies it to the parent's store: delete the rows above
the marks and the named rows, insert the delta's rows. Counts and the message digest are
carried forward from the parent's: the first log line of a row after the parent says
whether the parent had it ('u'/'d') or not ('i'), and for messages what it was.

Marks only ever rise, so several backup chains (a local folder and S3) share one log: a
change to a row at or below any chain's mark is at or below the current mark. A restored
store gets a new epoch: its history is not its chain's, so its next backup is full. So does
a store whose schema cookie moved (DDL, or a VACUUM, which may renumber rowids).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...failpoints import failpoint
from ..base import DeltaUnavailable
from . import digest
from .packing import hash_sql, sql_functions, uid_sql

BOOKKEEPING = ("store_meta", "backup_marks", "backup_changes")
LOG_LIMIT = 2_000_000  # lines kept; older ones go, and a chain older than them gets a full
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRIGGER = """CREATE TRIGGER "backup_{op}_{t}" AFTER {event} ON "{t}"
WHEN {row}.rowid <= (SELECT upto FROM backup_marks WHERE tbl = '{t}')
BEGIN
    INSERT INTO backup_changes (tbl, row, op, old_uid, old_hash)
    VALUES ('{t}', {row}.rowid, '{op}', {old_uid}, {old_hash});{extra}
END"""
# an UPDATE that moves a row to another rowid (none of ours does) also inserts there
_MOVED = """
    INSERT INTO backup_changes (tbl, row, op) SELECT '{t}', new.rowid, 'i'
    WHERE new.rowid <> old.rowid AND new.rowid <= (SELECT upto FROM backup_marks WHERE tbl = '{t}');"""


def tables(db: sqlite3.Connection, schema: str = "main") -> list[str]:
    """The store's own tables: ordinary tables except SQLite's and the backup bookkeeping."""
    return [r[0] for r in db.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        if r[0] not in BOOKKEEPING]


def table_counts(db: sqlite3.Connection) -> dict[str, int]:
    return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables(db)}


_HASHED = {"backup_u_messages", "backup_d_messages"}  # they log the old row's uid and hash


def _all_triggers(db: sqlite3.Connection) -> dict[str, str]:
    """The tracking triggers there are: name -> SQL."""
    return dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                           " AND name LIKE 'backup\\_%' ESCAPE '\\'"))


def _triggers(db: sqlite3.Connection) -> set[str]:
    """The tracking triggers installed, but those of messages made before migration 0024,
    which logged the stored content_hash where now the text's hash is derived (HASH), or
    before 0025, which logged the uid as stored where now it may be bytes (uid_sql)."""
    return {name for name, sql in _all_triggers(db).items()
            if name not in _HASHED or ("content_sha" in sql and "hex(old.uid)" in sql)}


def install(db: sqlite3.Connection) -> int:
    """Create the triggers a table lacks (after migrations; a no-op once all are there)."""
    have = _triggers(db)
    made = 0
    for t in tables(db):
        if not _NAME.match(t):
            raise ValueError(f"table name {t!r} cannot be tracked for backups")
        cols = {r[1] for r in db.execute(f'PRAGMA table_info("{t}")')}
        olds = (uid_sql("old.uid"), hash_sql("old.")) if {"uid", "content_hash"} <= cols else ("NULL", "NULL")
        for op, event, row, old, extra in (("i", "INSERT", "new", ("NULL", "NULL"), ""),
                                           ("u", "UPDATE", "old", olds, _MOVED.format(t=t)),
                                           ("d", "DELETE", "old", olds, "")):
            if f"backup_{op}_{t}" not in have:
                db.execute(f'DROP TRIGGER IF EXISTS "backup_{op}_{t}"')  # one made before 0025
                db.execute(_TRIGGER.format(op=op, event=event, t=t, row=row, old_uid=old[0],
                                           old_hash=old[1], extra=extra))
                made += 1
    return made


def _tracked(db: sqlite3.Connection) -> bool:
    """Whether the store has had a backup: before, every row is above a mark that is not there
    and no trigger is needed."""
    return db.execute("SELECT 1 FROM backup_marks LIMIT 1").fetchone() is not None


def missing_triggers(db: sqlite3.Connection) -> bool:
    """Whether the triggers are out of step with the store: a backed-up store lacking one (a
    table a migration added, one a backfill dropped), or one never backed up that has some (made
    by a version that installed them on opening)."""
    if _tracked(db):
        return len(_triggers(db)) < 3 * len(tables(db))
    return bool(_all_triggers(db))


def settle_triggers(db: sqlite3.Connection) -> None:
    """Bring the triggers in step (see missing_triggers)."""
    if _tracked(db):
        install(db)
    else:
        for name in _all_triggers(db):
            db.execute(f'DROP TRIGGER "{name}"')


def mark(db: sqlite3.Connection) -> None:
    """Raise every table's mark to its highest rowid, and trim an overlong log. Run in a write
    transaction, committed before the backup's read transaction starts: every change made
    after that read began is then either above the marks or in the log.

    Raising the marks only keeps the next delta small: whatever marks the backup's read
    transaction sees are the ones its position records, and every later change is above them
    or logged. So a backup whose marking fails (a read-only or full disk) is still right."""
    install(db)  # the first backup's: from now on changes at or below the marks are logged
    names = tables(db)
    for t in names:
        top = db.execute(f'SELECT max(rowid) FROM "{t}"').fetchone()[0] or 0
        db.execute("INSERT INTO backup_marks VALUES (?, ?) ON CONFLICT(tbl)"
                   " DO UPDATE SET upto = excluded.upto WHERE excluded.upto > upto", (t, top))
    db.execute(f"DELETE FROM backup_marks WHERE tbl NOT IN ({', '.join('?' * len(names))})", names)
    # (nothing is written when nothing rose: a backup of an idle store does not touch it)
    lo, hi = db.execute("SELECT min(seq), max(seq) FROM backup_changes").fetchone()
    if lo is not None and hi - lo >= LOG_LIMIT:
        floor = hi - LOG_LIMIT // 2
        db.execute("DELETE FROM backup_changes WHERE seq <= ?", (floor,))
        db.execute("UPDATE store_meta SET value = ? WHERE key = 'backup_log_floor'", (str(floor),))


def position(db: sqlite3.Connection) -> dict[str, Any]:
    """Where the log and the marks stand, as seen by the current read transaction."""
    meta = dict(db.execute("SELECT key, value FROM store_meta"))
    stored = dict(db.execute("SELECT tbl, upto FROM backup_marks"))
    marks, tail, tail_total, tail_n = {}, {}, 0, 0
    for t in tables(db):
        upto = marks[t] = stored.get(t, 0)
        tail[t] = db.execute(f'SELECT count(*) FROM "{t}" WHERE rowid > ?', (upto,)).fetchone()[0]
        if t == "messages":
            tail_total, tail_n = digest.query_sum(
                db.cursor(), f"SELECT {uid_sql('uid')}, {hash_sql('')} FROM messages WHERE rowid > ?", (upto,))
    return {"store_id": meta.get("store_id"), "epoch": meta.get("backup_epoch"),
            "floor": int(meta.get("backup_log_floor", 0)),
            "seq": db.execute("SELECT coalesce(max(seq), 0) FROM backup_changes").fetchone()[0],
            # SQLite's schema cookie: any DDL, and VACUUM (which may renumber rowids), bump it
            "schema_cookie": db.execute("PRAGMA main.schema_version").fetchone()[0],
            "marks": marks, "tail": tail, "tail_digest": digest.as_dict(tail_total, tail_n)}


def reset(db: sqlite3.Connection) -> None:
    """A restored store starts a new history: no marks, no log, a new epoch. (`db` then
    applies deltas: the messages triggers it runs call content_sha.)"""
    sql_functions(db)
    db.execute("DELETE FROM backup_changes")
    db.execute("DELETE FROM backup_marks")
    db.execute("UPDATE store_meta SET value = lower(hex(randomblob(8))) WHERE key = 'backup_epoch'")
    db.execute("UPDATE store_meta SET value = '0' WHERE key = 'backup_log_floor'")


def schema_version(db: sqlite3.Connection) -> int:
    try:
        return db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
    except sqlite3.OperationalError:
        return 0


def _unusable(now: dict[str, Any], version: int, parent: dict[str, Any]) -> str | None:
    since = parent.get("changes")
    if not since:
        return "the latest backup was made by an older version of memory"
    if since.get("store_id") != now["store_id"]:
        return "the latest backup at this target is of another store"
    if since.get("epoch") != now["epoch"]:
        return "this store was restored or replaced since the latest backup"
    if version != parent.get("schema_version") or set(since["marks"]) != set(now["marks"]):
        return "the store's schema changed since the latest backup"
    if since.get("schema_cookie") != now["schema_cookie"]:
        return "the store's schema or file was rebuilt (e.g. VACUUM) since the latest backup"
    if since["seq"] < now["floor"]:
        return "the change log no longer reaches back to the latest backup"
    return None


def _columns(db: sqlite3.Connection, schema: str, t: str) -> list[str]:
    return [r[1] for r in db.execute(f'PRAGMA {schema}.table_info("{t}")')]


def _rowid_alias(db: sqlite3.Connection, t: str) -> str | None:
    """The INTEGER PRIMARY KEY column that *is* the rowid, if the table has one."""
    pk = [(r[1], r[2]) for r in db.execute(f'PRAGMA main.table_info("{t}")') if r[5]]
    return pk[0][0] if len(pk) == 1 and pk[0][1].upper() == "INTEGER" else None


def write_delta(db_path: str, out: Path, parent: dict[str, Any]) -> dict[str, Any]:
    """Write what changed since `parent` (a manifest) into `out` (a new SQLite file), and return
    the summary of the store it describes (schema version, counts, digest, position).
    The caller has run `mark` in a committed transaction just before."""
    db = sqlite3.connect(db_path, isolation_level=None, timeout=30.0)
    sql_functions(db)  # the digest reads packing.HASH
    try:
        db.execute("PRAGMA cache_size = -65536")
        db.execute("ATTACH ? AS d", (str(out),))
        db.execute("PRAGMA d.page_size = 65536")  # big rows fit a page: a third faster
        db.execute("PRAGMA d.journal_mode = OFF")
        db.execute("PRAGMA d.synchronous = OFF")
        db.execute("BEGIN")
        now = position(db)  # the first read: the transaction's snapshot starts here
        version = schema_version(db)
        problem = _unusable(now, version, parent)
        if problem:
            raise DeltaUnavailable(problem)
        summary = _copy_changes(db, parent, now)
        summary["page_size"] = db.execute("PRAGMA main.page_size").fetchone()[0]
        summary["page_count"] = db.execute("PRAGMA main.page_count").fetchone()[0]
        db.execute("COMMIT")
        db.execute("DETACH d")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()
    return {"schema_version": version, **summary, "changes": now}


def _copy_changes(db: sqlite3.Connection, parent: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    since = parent["changes"]
    marks = since["marks"]
    # per table, each logged row's first change after the parent: (op, old uid, old hash)
    first: dict[str, dict[int, tuple[str, str | None, str | None]]] = {}
    for t, row, op, old_uid, old_hash in db.execute(
            "SELECT tbl, row, op, old_uid, old_hash FROM main.backup_changes WHERE seq > ?"
            " ORDER BY seq", (since["seq"],)):
        if row <= marks.get(t, 0):
            first.setdefault(t, {}).setdefault(row, (op, old_uid, old_hash))
    db.execute("CREATE TABLE d.__marks (tbl TEXT PRIMARY KEY, upto INTEGER NOT NULL)")
    db.executemany("INSERT INTO d.__marks VALUES (?, ?)", sorted(marks.items()))
    db.execute("CREATE TABLE d.__touched (tbl TEXT NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (tbl, row))")
    db.executemany("INSERT INTO d.__touched VALUES (?, ?)",
                   [(t, row) for t, rows in sorted(first.items()) for row in sorted(rows)])
    counts: dict[str, int] = {}
    rows = 0
    total = digest.value(parent["digest"]) - digest.value(since["tail_digest"])
    n_messages = parent["digest"]["messages"] - since["tail_digest"]["messages"]
    new = digest.Sum()  # the messages copied, summed as they are read
    db.create_function("digest_add", 2, new.add)
    for t in tables(db):
        summed = f" AND digest_add({uid_sql('uid')}, {hash_sql('')})" if t == "messages" else ""
        db.execute(f'CREATE TABLE d."{t}" AS SELECT rowid AS __rowid, * FROM main."{t}" WHERE 0')
        stored = db.execute(f'INSERT INTO d."{t}" SELECT rowid, * FROM main."{t}" WHERE rowid > ?'
                            + summed, (marks[t],)).rowcount
        stored += db.execute(f'INSERT INTO d."{t}" SELECT rowid, * FROM main."{t}" WHERE rowid IN'
                             " (SELECT row FROM d.__touched WHERE tbl = ?)" + summed, (t,)).rowcount
        had = [(u, h) for op, u, h in first.get(t, {}).values() if op != "i"]  # the parent's
        counts[t] = parent["counts"][t] - since["tail"][t] - len(had) + stored
        rows += stored
        failpoint(f"backup:delta-{t}")
        if t == "messages":
            gone, n_gone = digest.row_sum(had)
            total += new.total - gone
            n_messages += new.n - n_gone
    return {"counts": counts, "digest": digest.as_dict(total, n_messages), "rows": rows,
            "touched": sum(len(r) for r in first.values())}


def apply_delta(db: sqlite3.Connection, path: Path) -> int:
    """Apply a delta written by `write_delta` to the store of its parent (in one transaction);
    returns the rows written."""
    with delta_transaction(db, path):
        marks = dict(db.execute("SELECT tbl, upto FROM d.__marks"))
        rows = 0
        for t in tables(db, "d"):
            if t.startswith("__"):
                continue
            if t not in marks or not _NAME.match(t):
                raise sqlite3.DatabaseError(f"the delta holds table {t!r}, which its parent lacks")
            alias = _rowid_alias(db, t)
            cols = ", ".join(f'"{c}"' for c in _columns(db, "d", t) if c not in ("__rowid", alias))
            db.execute(f'DELETE FROM main."{t}" WHERE rowid > ?', (marks[t],))
            db.execute(f'DELETE FROM main."{t}" WHERE rowid IN (SELECT row FROM d.__touched WHERE tbl = ?)', (t,))
            rows += db.execute(f'INSERT INTO main."{t}" (rowid{", " if cols else ""}{cols})'
                               f' SELECT __rowid{", " if cols else ""}{cols} FROM d."{t}"').rowcount
    return rows


@contextmanager
def delta_transaction(db: sqlite3.Connection, path: Path) -> Iterator[None]:
    """The delta at `path` attached as `d` inside one write transaction: committed when the
    block ends, rolled back on any error (the store is as before), detached either way."""
    db.execute("ATTACH ? AS d", (str(path),))
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.execute("DETACH d")
