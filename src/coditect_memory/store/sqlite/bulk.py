"""A first ingest's bulk load on SQLite: the secondary indexes of `messages` and `api_usage`
dropped before the writes and built once after them.

Maintained row by row they cost about a fifth of SQLite's insert CPU at 150k messages
(benchmarks/RESULTS.md); built from the finished tables they are one sort each, and their
pages come out full. UNIQUE indexes stay: every write's `ON CONFLICT` needs them (the uid,
api_usage's key). Nothing that runs while the rows are written (write_batch, the
keyword-index follower, which reads by id) looks rows up by a dropped index; derivation,
which does, runs after the build.

Crash story: the indexes' CREATE statements are recorded in `deferred_indexes` (migration
0026) in the transaction that drops them, and removed in the one that builds them. A run
killed in between leaves a store that answers every query (by scans: slower, still right)
and whose next ingest, or anything else that derives sessions, builds them. A writable open
does not: a server or `memory index` would wait minutes for it at millions of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEFERRED_TABLES = ("messages", "api_usage")  # what a first ingest fills with millions of rows
BUILD_CACHE_KIB = 32768  # the page cache (and so the sorter's memory) while they are built


class SQLiteBulk:
    readonly: bool
    db: Any  # this thread's connection (store/sqlite/backend.py)
    tx: Callable[[], Any]  # a write transaction (store/sqlite/backend.py)

    def defer_indexes(self) -> bool:  # PostgresStore has its own (store/postgres/deferred.py)
        with self.tx() as db:
            if db.execute("SELECT 1 FROM messages LIMIT 1").fetchone() is not None:
                return False  # not a first ingest: an index built now would cost a full sort
            for table in DEFERRED_TABLES:
                for name, sql in created_indexes(db, table, unique=False):
                    db.execute("INSERT INTO deferred_indexes (name, sql) VALUES (?, ?)"
                               " ON CONFLICT (name) DO NOTHING", (name, sql))
                    db.execute(f'DROP INDEX "{name}"')
            # also True for indexes a killed first run left dropped
            return db.execute("SELECT 1 FROM deferred_indexes LIMIT 1").fetchone() is not None

    def build_deferred_indexes(self) -> None:
        if self.readonly:
            return
        conn = self.db
        if conn.execute("SELECT 1 FROM deferred_indexes LIMIT 1").fetchone() is None:
            return  # the usual case: one look at an empty table
        # SQLite's sorter holds as much as the page cache before it spills to a file, on top
        # of the pages the writes left cached: a 1M first ingest peaked at 406 MB resident
        # with the writes' 128 MB cache, and builds as fast with 32 MB (RESULTS.md)
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute("PRAGMA shrink_memory")
        conn.execute(f"PRAGMA cache_size = -{BUILD_CACHE_KIB}")
        try:
            with self.tx() as db:
                for name, sql in db.execute("SELECT name, sql FROM deferred_indexes ORDER BY name").fetchall():
                    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                  (name,)).fetchone() is None:  # a migration may have made it since
                        db.execute(sql)
                db.execute("DELETE FROM deferred_indexes")
        finally:
            conn.execute(f"PRAGMA cache_size = {int(cache)}")
            conn.execute("PRAGMA shrink_memory")


def created_indexes(db: Any, table: str | None = None, unique: bool = True) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes made by CREATE INDEX (not a key's own) on
    `table` (None: every table), whatever the migrations define; without `unique`, not the
    UNIQUE ones. Also what `db copy` drops while it fills a new file (postgres/copy.py)."""
    return [(name, sql) for name, sql in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND (? IS NULL OR tbl_name = ?) AND (? OR upper(substr(sql, 1, 14)) <> 'CREATE UNIQUE ')"
        " ORDER BY name", (table, table, unique))]
