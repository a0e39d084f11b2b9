"""The store: one interface (base.Store), one package per backend."""

from __future__ import annotations

import socket

from ..settings import Settings
from .base import Batch, FileState, Store

__all__ = ["Batch", "FileState", "Store", "open_store"]


def open_store(settings: Settings, readonly: bool = False, create: bool = True,
               check: bool = True) -> Store:
    """The backend named by MEMORY_DATABASE_URL (or [store] url), else SQLite in MEMORY_HOME.

    `readonly`: really read-only (nothing created, migrated or written; a store that needs
    a migration is refused with what to run). `create=False`: writable, but the store must
    already exist (commands that update caches of a store they never create). `check=False`
    with `readonly`: open a store whose schema is behind too (`memory db status` lists what
    is pending)."""
    url = settings.database_url
    if url.startswith(("postgres://", "postgresql://")):
        from .postgres.backend import PostgresStore

        return PostgresStore(url, readonly=readonly, create=create, check=check,
                             index_key=f"{socket.gethostname()}:{settings.home}")
    from .sqlite.backend import SQLiteStore

    if url.startswith("sqlite:///"):
        path = shown = url[len("sqlite:///"):]
    else:  # named relative to MEMORY_HOME: a restored copy reports the same status
        path, shown = str(settings.db_path), settings.db_path.name
    return SQLiteStore(path, busy_timeout=settings.ingest.lock_wait_seconds, readonly=readonly,
                       create=create, shown_path=shown, check=check)
