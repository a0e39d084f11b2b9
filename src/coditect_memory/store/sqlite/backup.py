"""The SQLite backend's side of backups and export: snapshots and deltas of the database
file (snapshot.py, changes.py), and turning a restored image back into a store."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ...errors import BackupDamaged, StoreLocked, io_error
from ...failpoints import failpoint
from . import changes

DB_NAME = "memory.db"


class SQLiteBackup:
    # Provided by SQLiteStore: the database file, this thread's connection, a write transaction.
    path: str
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def backup_snapshot(self, workdir: str):
        from .snapshot import SQLiteSnapshot

        self._mark()
        with _io("the backup's snapshot", workdir):
            return SQLiteSnapshot(self.path, Path(workdir))

    def backup_delta(self, workdir: str, parent: dict[str, Any]):
        from .snapshot import SQLiteDelta

        self._mark()
        with _io("the incremental backup's change file", workdir):
            return SQLiteDelta(self.path, Path(workdir), parent)

    def _mark(self) -> None:
        """Raise the backup marks, committed before the backup's read begins (changes.py);
        when the store cannot be written the backup goes on with the marks it has."""
        try:
            with self.tx() as db:
                changes.mark(db)
                failpoint("backup:marking")
        except (sqlite3.OperationalError, StoreLocked):
            pass

    def export_messages(self, project: str | None = None,
                        since: int | None = None) -> Iterator[dict[str, Any]]:
        from .export import export_messages

        return export_messages(self.db, project, since)

    # --- restore: the image is a database file --------------------------------------------
    @classmethod
    def store_path(cls, home: Path) -> Path:
        return home / DB_NAME

    @classmethod
    def restore_image(cls, image: Path, deltas: list[Path]) -> None:
        from .snapshot import rebuild

        try:
            rebuild(str(image), deltas)
        except sqlite3.DatabaseError as e:
            raise BackupDamaged(str(e)) from None  # the caller names the chain

    @classmethod
    def inspect_image(cls, image: Path) -> dict[str, Any]:
        from .snapshot import inspect_restored

        return inspect_restored(str(image))

    @classmethod
    def install_image(cls, image: Path, dest: Path) -> Path | None:
        aside = _set_aside(dest) if dest.exists() else None
        os.replace(image, dest)
        _fsync_dir(dest.parent)
        return aside

    @classmethod
    def discard_image(cls, image: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{image}{suffix}")


def _set_aside(dest: Path) -> Path:
    """Move the current store (and its WAL) to memory.db.before-restore-<time>."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = dest.with_name(f"{dest.name}.before-restore-{stamp}")
    for suffix in ("-wal", "-shm"):
        side = Path(f"{dest}{suffix}")
        if side.exists():
            os.replace(side, f"{aside}{suffix}")
    os.replace(dest, aside)
    return aside


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _io(what: str, workdir: str) -> Iterator[None]:
    """A temp file of the backup's filling (or refused by) its disk is one StorageIOError,
    whichever door started the backup, not a raw sqlite or OS error."""
    try:
        yield
    except (OSError, sqlite3.Error) as e:
        err = io_error(e, what, workdir)
        if err is None:
            raise
        raise err from None
