"""The SQLite backend's side of backups and export: snapshots, deltas, marks."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ...errors import StoreLocked
from ...failpoints import failpoint
from . import changes


class SQLiteBackup:
    # Provided by SQLiteStore: the database file, this thread's connection, a write transaction.
    path: str
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def backup_snapshot(self, workdir: str):
        from .snapshot import SQLiteSnapshot

        self._mark()
        return SQLiteSnapshot(self.path, Path(workdir))

    def backup_delta(self, workdir: str, parent: dict[str, Any]):
        from .snapshot import SQLiteDelta

        self._mark()
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

    def export_messages(self, project: str | None = None, since: int | None = None):
        from .snapshot import export_messages

        return export_messages(self.db, project, since)
