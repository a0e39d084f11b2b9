"""What backups and export ask of a store backend.

A backup is an *image* of the store (bytes the backend can turn back into a store) plus,
for an incremental, *deltas* (what changed since its parent). backup/ cuts those bytes into
objects and never looks inside them; the manifest names the backend (`store.backend`) with
what that backend needs to restore, and restore finds the backend by that name
(`backup_backend`). The snapshot and delta are taken from an open store; restoring and
inspecting work on files with no store open, so they are class methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol


class DeltaUnavailable(Exception):
    """An incremental backup cannot be built on this parent; the message says why (the
    caller makes a full backup instead)."""


class BackupSource(Protocol):
    """What `backup create` reads: a frozen image of the store or a delta, in pieces."""

    size: int  # bytes to read
    info: dict[str, Any]  # the manifest's `store`: backend, image bytes, what restore needs
    rows: int  # rows a delta holds (0 for an image)
    touched: dict[str, int]  # a delta's changed rows per table (empty for an image)

    def read(self, offset: int, length: int) -> bytes: ...

    def summary(self) -> dict[str, Any]:
        """Schema version, row counts, message digest and change position, as the manifest
        records them."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> BackupSource: ...

    def __exit__(self, *exc: object) -> None: ...


class BackupStore(ABC):
    # --- taking a backup from an open store -----------------------------------------------
    @abstractmethod
    def backup_snapshot(self, workdir: str) -> BackupSource:
        """A consistent, frozen image of the store, taken while writers go on. `workdir` may
        hold a temp copy when the backend needs one."""

    @abstractmethod
    def backup_delta(self, workdir: str, parent: dict[str, Any]) -> BackupSource:
        """What changed since the backup whose manifest is `parent`; raises
        DeltaUnavailable when it cannot be built on that parent."""

    @abstractmethod
    def export_messages(self, project: str | None = None,
                        since: int | None = None) -> Iterator[dict[str, Any]]:
        """Every message as a plain dict (uid, source_kind, provenance, ...), oldest first,
        for `memory export`; `since` in epoch ms. A session's facts ride on its first
        message (`session`)."""

    # --- restoring, with no store open ------------------------------------------------------
    @classmethod
    @abstractmethod
    def store_path(cls, home: Path) -> Path:
        """Where this backend keeps its store in a memory home: what a restore writes."""

    @classmethod
    @abstractmethod
    def restore_image(cls, image: Path, deltas: list[Path]) -> None:
        """Turn a full backup's image into the store of the chain's last backup by applying
        each delta in order (a restored store starts a new change history); raise
        BackupDamaged when they do not apply."""

    @classmethod
    @abstractmethod
    def inspect_image(cls, image: Path) -> dict[str, Any]:
        """What a restored image holds, as a manifest records it (schema_version, counts,
        digest), plus `problems`: the backend's own integrity check; or `error` when the
        image cannot be read at all."""

    @classmethod
    @abstractmethod
    def install_image(cls, image: Path, dest: Path) -> Path | None:
        """Put a checked image in place as the store at `dest` (durably); a store already
        there is set aside first, and its new name returned."""

    @classmethod
    @abstractmethod
    def discard_image(cls, image: Path) -> None:
        """Remove an image and whatever opening it left beside it."""


def backup_backend(name: str | None) -> type[BackupStore]:
    """The backend a manifest names (manifests before it was recorded are SQLite's)."""
    from ...errors import BackupError

    if name in (None, "sqlite"):
        from ..sqlite.backend import SQLiteStore

        return SQLiteStore
    if name == "postgresql":  # a SQLite image with PostgreSQL deltas
        from ..postgres.backup import PostgresBackupImage

        return PostgresBackupImage
    raise BackupError(f"this is a backup of a {name} store, which this version of memory "
                      "cannot restore: restore it with that backend's tools")
