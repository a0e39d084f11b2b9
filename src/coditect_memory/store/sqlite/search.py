"""The SQLite backend's side of search: rows to index, hits to hydrate, embeddings, state."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager


class SQLiteSearch:
    # Provided by SQLiteStore: the database file, this thread's connection, a write transaction.
    path: str
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError
