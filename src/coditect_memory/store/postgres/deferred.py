"""Secondary indexes dropped for a bulk load and built once after it (PostgreSQL).

A first ingest, or a restore into a new database, COPYs millions of rows into tables that
each carry several secondary indexes: maintained entry by entry they are most of the server's
work (the same rows go in ~3.5x faster without them). So before such a load the secondary
indexes of the big tables are dropped and their definitions (`pg_get_indexdef`) recorded in
`deferred_server_indexes`, in one transaction; after it each is built from the sorted rows
and its record deleted, again in one transaction per index. A crash at any point leaves the
record of every index not built, and the next run (ingest always calls the build after its
writes) builds them: nothing is lost, at worst an index is missing for a while, which costs
reads their speed, never their answers.

Kept: primary keys and unique indexes (identity: ingest's ON CONFLICT needs them). While the
indexes are away, ingest's writes look rows up by those only (uid, the usage key, ids); the
session derivation and plan linking that read by the others run after the build.

The record is this backend's own table (not the SQLite one of the same purpose: its SQL is
PostgreSQL's), made when a store opens writable and left out of copies and their counts.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg

TABLE = "deferred_server_indexes"
# The tables a load writes a row per message into: the indexes worth deferring.
BIG = ("messages", "api_usage")
BUILDERS = 2  # indexes built at once, each on its own connection (the machines we run on: 2+ cores)
BUILD_MEMORY = "256MB"  # maintenance_work_mem of each build: a 1M-message index sorts in memory

INSTALL = f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, sql TEXT NOT NULL)"


def pending(pg: Any) -> int:
    """How many indexes are dropped and not built yet."""
    return int(pg.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])


def defer(pg: Any, tables: tuple[str, ...] | None = BIG) -> bool:
    """Record and drop the secondary indexes of `tables` (every table: None), in the caller's
    transaction; True when any index is deferred (now or by an earlier load not finished).
    Only the indexes recorded here are dropped: one recorded before is already gone, or being
    built by another process that will delete its record when done."""
    names = list(tables) if tables else None
    for (name,) in pg.execute(
            f"INSERT INTO {TABLE} (name, sql) SELECT c.relname, pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE t.relnamespace = current_schema()::regnamespace AND NOT i.indisunique"
            " AND NOT i.indisprimary AND t.relname <> %s AND (%s::text[] IS NULL OR t.relname = ANY(%s))"
            " ON CONFLICT (name) DO NOTHING RETURNING name", (TABLE, names, names)).fetchall():
        pg.execute(f'DROP INDEX "{name}"')
    return pending(pg) > 0


def build(url: str) -> int:
    """Build every deferred index, BUILDERS at a time (idempotent; a query when none is),
    then ANALYZE their tables; returns how many were built.

    A table loaded in bulk has no statistics yet (autovacuum comes later, if at all), and
    without them the planner guesses a few hundred rows for any id range: the reads that
    follow a load (`id > ? AND id <= ? ORDER BY id LIMIT ?`, derivation's and the keyword
    index's) then sort the whole rest of the range, on disk, at every call, which grows
    with the square of the rows (at 150k messages, 0.9 s of the server's 10 s)."""
    with psycopg.connect(url, autocommit=True) as pg:
        todo = pg.execute(f"SELECT name, sql FROM {TABLE} ORDER BY name").fetchall()
    if todo:
        with ThreadPoolExecutor(min(BUILDERS, len(todo))) as pool:
            list(pool.map(lambda row: _build_one(url, row[0]), todo))
        tables = sorted({m[1] for _, sql in todo if (m := _ON.search(sql))})
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(f"ANALYZE {', '.join(tables or BIG)}")
    return len(todo)


_ON = re.compile(r" ON ((?:\w+\.)?\w+) USING ")  # the table in pg_get_indexdef's text


def _build_one(url: str, name: str) -> None:
    """One index made and its record deleted in one transaction (another process may have
    built it meanwhile: then only the record goes)."""
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"SET maintenance_work_mem = '{BUILD_MEMORY}'")
        pg.execute("SET max_parallel_maintenance_workers = 0")  # the builders are the parallelism
        with pg.transaction():
            row = pg.execute(f"SELECT sql FROM {TABLE} WHERE name = %s FOR UPDATE",
                             (name,)).fetchone()
            if row is None:
                return
            pg.execute(row[0].replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
            pg.execute(f"DELETE FROM {TABLE} WHERE name = %s", (name,))
