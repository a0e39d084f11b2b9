"""The store: one interface (base.Store), one package per backend."""

from __future__ import annotations

import os

from ..config import Config
from ..errors import UsageError
from .base import Batch, FileState, Store

__all__ = ["Batch", "FileState", "Store", "open_store"]


def open_store(config: Config, readonly: bool = False) -> Store:
    """The backend named by MEMORY_DATABASE_URL, else SQLite in MEMORY_HOME."""
    url = os.environ.get("MEMORY_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        raise UsageError("the PostgreSQL backend is not available yet; unset MEMORY_DATABASE_URL")
    from .sqlite.backend import SQLiteStore

    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else str(config.db_path)
    return SQLiteStore(path, busy_timeout=config.lock_wait_seconds, readonly=readonly)
