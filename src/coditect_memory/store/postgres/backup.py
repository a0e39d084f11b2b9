"""Backups of a PostgreSQL store: a full backup is a SQLite image of it (copy.py's `dump`),
an incremental a delta file of what changed (changes.py); both in the one repository format.
Restore needs no server: the image is a SQLite store, each delta is applied to it, and the
result is checked against the manifest as any restore is (`backup restore --into URL` then
copies it onto a server: actions/backup.py)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from ...errors import BackupDamaged
from ..protocol.backup import BackupStore
from ..sqlite.backup import SQLiteBackup
from ..sqlite.snapshot import _FileSource, _remove, temp_file
from . import changes


class PostgresDelta(_FileSource):
    """What changed since a parent backup, as a SQLite file in `workdir`, read in one
    REPEATABLE READ transaction; removed on `close`. Raises DeltaUnavailable when the
    parent cannot be built on."""

    method = "delta"
    what = "delta file"

    def __init__(self, url: str, workdir: Path, parent: dict[str, Any]) -> None:
        self.path = temp_file(workdir, "pgdelta")
        try:
            with psycopg.connect(url) as pg:
                pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                self._summary = changes.write_delta(pg, self.path, parent)
                self.store_bytes = pg.execute(
                    "SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
                pg.rollback()
            self.fd = os.open(self.path, os.O_RDONLY)
        except BaseException:
            self.close()
            raise
        self.size = os.fstat(self.fd).st_size
        self.rows = self._summary.pop("rows")
        self.touched = self._summary.pop("touched")

    @property
    def info(self) -> dict[str, Any]:
        """Restored by this module's delta format onto the chain's SQLite image."""
        return {"backend": "postgresql", "bytes": self.store_bytes, "snapshot": self.method,
                "source": "postgresql"}

    def summary(self) -> dict[str, Any]:
        return self._summary

    def close(self) -> None:
        super().close()
        _remove(self.path)


class PostgresBackupImage(SQLiteBackup, BackupStore):
    """The restore side of a chain with PostgreSQL deltas (manifest `store.backend` =
    "postgresql"): the image is a SQLite store, so all but applying the deltas is SQLite's."""

    @classmethod
    def restore_image(cls, image: Path, deltas: list[Path]) -> None:
        try:
            changes.rebuild(str(image), deltas)
        except sqlite3.DatabaseError as e:
            raise BackupDamaged(str(e)) from None
