"""Consistent snapshots of the SQLite store for backups, and the checks a restore runs.

A snapshot is a frozen view of the database *file*, read page by page while ingest keeps
writing. Two ways, best first:

- direct: checkpoint the WAL into the file (TRUNCATE), then hold a read transaction that
  started on an empty WAL. Such a reader holds WAL read-lock 0, and no checkpoint may copy
  frames into the file while it is held (SQLite's WAL locking), so the file on disk *is*
  the snapshot until we let go. Writers keep appending to the WAL meanwhile. Nothing is
  copied.
- copy: SQLite's online backup API into a temp file in one step (one read transaction),
  used when the WAL cannot be emptied (a long reader, a busy writer) or the store is not
  in WAL mode.

Counts, the message digest and the change-log position are computed inside the same read
transaction, so the manifest describes exactly the pages stored. An incremental is not a
file snapshot but a delta file (`SQLiteDelta`, see changes.py) read the same way.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from ...pids import alive
from . import changes, digest


def _reading(db: sqlite3.Connection) -> sqlite3.Connection:
    """Settings for one long scan: a larger page cache. (A memory map of the whole file made
    the digest's walk over overflow chains ~1.6x faster but showed the file as 2.2 GB of
    resident memory at 1M messages; the digest now runs beside the page reads instead.)"""
    db.execute("PRAGMA cache_size = -65536")
    return db


def summarize(db: sqlite3.Connection) -> dict[str, Any]:
    """What a manifest records of the store seen by `db`'s read transaction."""
    return {"schema_version": changes.schema_version(db), "counts": changes.table_counts(db),
            "digest": digest.message_digest(db.cursor())}


def temp_file(workdir: Path, prefix: str) -> Path:
    """A temp database path in `workdir` for this process, after removing the ones that
    processes no longer running left behind (a backup killed mid-way)."""
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("*-*.db*"):
        pid = old.name.split(".", 1)[0].rsplit("-", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            with contextlib.suppress(OSError):
                old.unlink()
    path = workdir / f"{prefix}-{os.getpid()}.db"
    _remove(path)
    return path


def _remove(path: str | Path) -> None:
    """A temp database file and its rollback journal, if there."""
    for suffix in ("", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


class _FileSource:
    """What `backup create` reads from: an open file (`fd`) read in pieces, closed after."""

    what = "database file"  # for errors
    method = "direct"
    fd: int | None = None
    page_size = page_count = 0  # the store's, as the image or delta saw it
    rows = 0  # rows in a delta
    touched: dict[str, int] = {}  # a delta's changed rows per table; never mutated

    @property
    def info(self) -> dict[str, Any]:
        """The manifest's `store`: what a restore of this backend needs to know."""
        return {"backend": "sqlite", "page_size": self.page_size, "page_count": self.page_count,
                "bytes": self.page_size * self.page_count, "snapshot": self.method}

    def read(self, offset: int, length: int) -> bytes:
        """`length` bytes of the frozen file from `offset`."""
        assert self.fd is not None
        data = os.pread(self.fd, length, offset)
        if len(data) != length:
            raise OSError(f"short read at byte {offset} of the {self.what}")
        return data

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> _FileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SQLiteSnapshot(_FileSource):
    """A frozen view of the database file; read pages with `read`, then `close`."""

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
        self._tmp = str(temp_file(workdir, "snapshot"))
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

    @property
    def size(self) -> int:
        return self.page_size * self.page_count

    def summary(self) -> dict[str, Any]:
        """Counts, digest and the change-log position, all from the snapshot's transaction."""
        return {**summarize(_reading(self.db)), "changes": changes.position(self.db)}

    def close(self) -> None:
        super().close()
        try:
            if self.db.in_transaction:
                self.db.execute("COMMIT")
            self.db.close()
        except sqlite3.Error:
            pass
        if self._tmp:
            _remove(self._tmp)
            self._tmp = None


class SQLiteDelta(_FileSource):
    """What changed since a parent backup, as a SQLite file in `workdir` (changes.py); read
    like a snapshot, removed on `close`. Raises changes.DeltaUnavailable when the parent
    cannot be built on. `page_size`/`page_count` are the store's, as the delta saw it."""

    method = "delta"
    what = "delta file"

    def __init__(self, db_path: str, workdir: Path, parent: dict[str, Any]) -> None:
        self.path = temp_file(workdir, "delta")
        try:
            self._summary = changes.write_delta(db_path, self.path, parent)
            self.fd = os.open(self.path, os.O_RDONLY)
        except BaseException:
            self.close()
            raise
        self.size = os.fstat(self.fd).st_size
        for name in ("rows", "touched", "page_size", "page_count"):
            setattr(self, name, self._summary.pop(name))

    def summary(self) -> dict[str, Any]:
        return self._summary

    def close(self) -> None:
        super().close()
        _remove(self.path)


def rebuild(db_path: str, deltas: list[Path]) -> None:
    """Turn a restored full backup at `db_path` into the store of the chain's last backup:
    start a new change history (a restored store's next backup is a full one), then apply
    each delta in order."""
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'store_meta'").fetchone():
            db.execute("BEGIN IMMEDIATE")
            changes.reset(db)  # first: with no marks the triggers stay quiet while deltas apply
            db.execute("COMMIT")
        for path in deltas:
            changes.apply_delta(db, path)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def inspect_restored(db_path: str) -> dict[str, Any]:
    """What a restored database file holds: the same summary a snapshot records, plus what
    SQLite's own quick check found (`problems`). Only read (opened read-write because a
    WAL-mode file without its -shm cannot be opened read-only everywhere; closing removes
    the -wal/-shm again)."""
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        _reading(db).execute("BEGIN")
        check = [r[0] for r in db.execute("PRAGMA quick_check(20)")]
        problems = [] if check == ["ok"] else [
            "SQLite quick_check of the restored store: " + "; ".join(check[:3])]
        out = {**summarize(db), "problems": problems}
        db.execute("COMMIT")
        return out
    except sqlite3.DatabaseError as e:
        return {"error": f"the restored file is not a readable SQLite database: {e}"}
    finally:
        db.close()

