"""Consistent snapshots of the SQLite store for backups, and the checks a restore runs.

A snapshot is a frozen view of the database *file*, read page by page while ingest keeps
writing. Two ways, best first:

- direct: checkpoint the WAL into the file (TRUNCATE), then hold a read transaction that
  started on an empty WAL. Such a reader holds WAL read-lock 0, and no checkpoint may copy
  frames into the file while it is held (SQLite's WAL locking), so the file on disk *is*
  the snapshot until we let go. Writers keep appending to the WAL meanwhile. Nothing is
  copied, and unchanged pages keep their place, which is what makes incrementals small.
- copy: SQLite's online backup API into a temp file in one step (one read transaction),
  used when the WAL cannot be emptied (a long reader, a busy writer) or the store is not
  in WAL mode.

Counts and the message digest are computed inside the same read transaction, so the
manifest describes exactly the pages stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

DIGEST_ALGORITHM = "sum-sha256(uid US content_hash) mod 2^256"


def message_digest(cur: sqlite3.Cursor) -> dict[str, Any]:
    """An order-independent digest of every message's uid and content hash.

    Each row contributes sha256(uid + 0x1f + content_hash) read as a 256-bit number; the
    digest is their sum mod 2^256, so it depends on what is stored, not on row order or
    page layout, and any backend can compute the same figure.
    """
    sha = hashlib.sha256
    total = 0
    n = 0
    cur.execute("SELECT uid, coalesce(content_hash, '') FROM messages")
    while rows := cur.fetchmany(20000):
        total += sum(int.from_bytes(sha(f"{u}\x1f{c}".encode("utf-8", "surrogatepass")).digest(), "big")
                     for u, c in rows)
        n += len(rows)
    return {"algorithm": DIGEST_ALGORITHM, "messages": n, "value": f"{total % (1 << 256):064x}"}


def _reading(db: sqlite3.Connection) -> sqlite3.Connection:
    """Settings for one long scan: a larger page cache. (A memory map of the whole file made
    the digest's walk over overflow chains ~1.6x faster but showed the file as 2.2 GB of
    resident memory at 1M messages; the digest now runs beside the page hashing instead.)"""
    db.execute("PRAGMA cache_size = -65536")
    return db


def table_counts(db: sqlite3.Connection) -> dict[str, int]:
    """Rows in every ordinary table (virtual tables are counted through their shadow tables)."""
    names = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")]
    return {n: db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def _schema_version(db: sqlite3.Connection) -> int:
    try:
        return db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
    except sqlite3.OperationalError:
        return 0


class SQLiteSnapshot:
    """A frozen view of the database file; read pages with `read`, then `close`."""

    backend = "sqlite"

    def __init__(self, db_path: str, workdir: Path, attempts: int = 20) -> None:
        self.db_path = db_path
        self.method = "direct"
        self._tmp: str | None = None
        self.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None,
                                  check_same_thread=False, timeout=1.0)
        if not self._freeze(attempts):
            self.method = "copy"
            self._copy(workdir)
        self.path = self._tmp or db_path
        self.page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
        self.page_count = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.fd = os.open(self.path, os.O_RDONLY)
        size = os.fstat(self.fd).st_size
        if size < self.page_size * self.page_count:
            self.close()
            raise OSError(f"the database file is shorter ({size} bytes) than its "
                          f"{self.page_count} pages")

    def _freeze(self, attempts: int) -> bool:
        """Empty the WAL into the file and start a read transaction on the empty WAL."""
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            return False
        wal = self.db_path + "-wal"
        writer = sqlite3.connect(self.db_path, isolation_level=None, timeout=1.0)
        try:
            for attempt in range(attempts):
                with contextlib.suppress(sqlite3.OperationalError):  # busy: checked below
                    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                self.db.execute("BEGIN")
                self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
                try:
                    empty = os.stat(wal).st_size == 0
                except FileNotFoundError:
                    empty = True
                if empty:
                    return True
                self.db.execute("COMMIT")
                time.sleep(0.01 * (attempt + 1))
        finally:
            writer.close()
        return False

    def _copy(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._tmp = str(workdir / f"snapshot-{os.getpid()}.db")
        for suffix in ("", "-journal"):
            if os.path.exists(self._tmp + suffix):
                os.unlink(self._tmp + suffix)
        src = sqlite3.connect(self.db_path, timeout=30.0)
        dst = sqlite3.connect(self._tmp)
        try:
            src.backup(dst)  # pages=-1: one step, one read transaction, a consistent copy
        finally:
            src.close()
            dst.close()
        self.db.close()
        self.db = sqlite3.connect(f"file:{self._tmp}?mode=ro", uri=True, isolation_level=None,
                                  check_same_thread=False)
        self.db.execute("BEGIN")

    def read(self, first_page: int, count: int) -> bytes:
        """Pages first_page .. first_page + count - 1 (1-based), as one bytes object."""
        want = count * self.page_size
        data = os.pread(self.fd, want, (first_page - 1) * self.page_size)
        if len(data) != want:
            raise OSError(f"short read of pages {first_page}..{first_page + count - 1}")
        return data

    def summary(self) -> dict[str, Any]:
        _reading(self.db)
        return {"schema_version": _schema_version(self.db), "counts": table_counts(self.db),
                "digest": message_digest(self.db.cursor())}

    def close(self) -> None:
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)
            self.fd = None
        try:
            if self.db.in_transaction:
                self.db.execute("COMMIT")
            self.db.close()
        except sqlite3.Error:
            pass
        if self._tmp:
            for suffix in ("", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._tmp + suffix)
            self._tmp = None

    def __enter__(self) -> SQLiteSnapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def inspect_restored(db_path: str) -> dict[str, Any]:
    """What a restored database file holds: the same summary a snapshot records, plus
    SQLite's own quick check. Only read (opened read-write because a WAL-mode file without
    its -shm cannot be opened read-only everywhere; closing removes the -wal/-shm again)."""
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        _reading(db).execute("BEGIN")
        check = [r[0] for r in db.execute("PRAGMA quick_check(20)")]
        out = {"schema_version": _schema_version(db), "counts": table_counts(db),
               "digest": message_digest(db.cursor()), "quick_check": check}
        db.execute("COMMIT")
        return out
    except sqlite3.DatabaseError as e:
        return {"error": f"the restored file is not a readable SQLite database: {e}"}
    finally:
        db.close()


_EXPORT = """
SELECT m.id, m.uid, m.source_kind, m.type, m.role, m.content, m.content_hash, m.ts, m.session_id,
       p.path AS project, m.tool_name, m.tool_use_id, m.component, m.level, m.is_error,
       m.is_meta, m.is_sidechain, m.agent_id, m.ext_id, m.parent_ext_id, m.model, m.linked_uid,
       m.metadata, m.blob_sha256, b.is_text AS blob_is_text, b.data AS blob,
       f.root AS source_root, f.path AS source_file, m.source_line, m.source_offset, m.run_id
FROM messages m
LEFT JOIN projects p ON p.id = m.project_id
LEFT JOIN source_files f ON f.id = m.source_file_id
LEFT JOIN blobs b ON b.sha256 = m.blob_sha256 AND m.content IS NULL
WHERE m.deleted_at IS NULL {where}
ORDER BY m.id"""


def export_messages(db: sqlite3.Connection, project: str | None, since: int | None):
    """Messages as dicts, in the order they were stored; each session's facts (branch,
    version, plan slug, file-history paths, token usage) ride on its first message."""
    where, args = [], []
    if project:
        where.append("AND (p.path = ? OR p.name = ?)")
        args += [project, project]
    if since is not None:
        where.append("AND m.ts >= ?")
        args.append(since)
    cur = db.cursor()  # a cursor of its own: the per-session look-ups below use db
    cur.execute(_EXPORT.format(where=" ".join(where)), args)
    seen: set[str] = set()
    while rows := cur.fetchmany(2000):
        for r in rows:
            d = dict(zip([c[0] for c in cur.description], r, strict=True))
            sid = d["session_id"]
            if sid and sid not in seen:
                seen.add(sid)
                d["session"] = _session_facts(db, sid)
            yield d


def _session_facts(db: sqlite3.Connection, sid: str) -> dict[str, Any]:
    row = db.execute("SELECT git_branch, version, slug FROM sessions WHERE id = ?", (sid,)).fetchone()
    facts: dict[str, Any] = dict(zip(("git_branch", "version", "slug"), row or (None,) * 3,
                                     strict=True))
    facts["file_backups"] = {name: path for name, path in db.execute(
        "SELECT backup_name, path FROM file_backups WHERE session_id = ? ORDER BY backup_name", (sid,))}
    facts["usage"] = [list(r) for r in db.execute(
        "SELECT message_id, request_id, model, ts, input_tokens, output_tokens, cache_read_tokens,"
        " cache_write_tokens, is_sidechain FROM api_usage WHERE session_id = ?"
        " ORDER BY message_id, request_id", (sid,))]
    return facts
