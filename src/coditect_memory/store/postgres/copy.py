"""Whole stores between PostgreSQL and a SQLite file: backups' images and `memory db copy`.

Both backends have the same tables and columns (PostgreSQL's schema is made from SQLite's
migrations), so a store moves table by table, column by column:

- `dump`: a PostgreSQL store into a new SQLite store file, read in one REPEATABLE READ
  transaction (a consistent image while ingest goes on). A full backup of a PostgreSQL
  store is such an image: the same repository format, verify and restore as SQLite's
  (incrementals: changes.py; `backup restore --into URL` takes the result onto a server).
- `load`: a SQLite store file into a PostgreSQL database, by COPY, resumable: tables with
  an id continue after the highest id already there, each chunk committed; others are
  re-copied whole unless already complete.

Either ends by comparing table counts and the message digest of both sides.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from ...ahead import read_ahead
from ...hashing import content_hash
from ..sqlite import changes, digest
from ..sqlite.backend import CACHE_KIB, SQLiteStore
from ..sqlite.bulk import created_indexes
from ..sqlite.packing import MetaCodec, uid_key, uid_sql, unpack_blob, uuid_key, uuid_sql
from ..sqlite.snapshot import _FileSource, _remove, summarize, temp_file
from . import changes as pg_changes
from . import deferred

CHUNK = 20_000
# Copied with the data: the store's identity. The backup marks and change log are not: a
# copy starts a history of its own.
_META = "store_meta"
_SKIP = {"schema_migrations", "backup_marks", "backup_changes"}
# Columns SQLite keeps as 16 bytes where they are canonical (packing.py), PostgreSQL as text:
# (table, column) -> their text in SQLite's SQL. Those that lookups compare as bytes are made
# bytes again on the way to a SQLite file (_AS_KEY); ext ids are read both ways (0024).
_AS_TEXT = {("messages", "ext_id"): uuid_sql, ("messages", "parent_ext_id"): uuid_sql,
            ("messages", "session_id"): uuid_sql, ("messages", "uid"): uid_sql,
            ("api_usage", "session_id"): uuid_sql}
_AS_KEY: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("messages", "uid"): uid_key, ("messages", "session_id"): uuid_key,
    ("api_usage", "session_id"): uuid_key}
Progress = Callable[[str, int], None]


def _pg_columns(pg: psycopg.Connection[Any], table: str) -> list[str]:
    return [r[0] for r in pg.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s ORDER BY ordinal_position", (table,))]


def _lite_columns(lite: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in lite.execute(f'PRAGMA table_info("{table}")')]


def _integer_id(lite: sqlite3.Connection, table: str) -> bool:
    return any(r[1] == "id" and r[2].upper() == "INTEGER"
               for r in lite.execute(f'PRAGMA table_info("{table}")'))


def _tables(lite: sqlite3.Connection) -> list[str]:
    """The store's tables, its identity first (so a resumed copy knows its source)."""
    return [_META, *(t for t in changes.tables(lite) if t not in _SKIP)]


def _quoted(cols: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in cols)



def _drop_indexes(lite: sqlite3.Connection) -> list[str]:
    """Drop the new image's indexes (not the keys' own), returning how to make them again:
    built once from sorted rows after the copy rather than entry by entry during it (the
    inserts into indexed tables were two thirds of a full backup's time)."""
    made = created_indexes(lite)
    for name, _ in made:
        lite.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in made]


def dump(url: str, path: str, progress: Progress | None = None,
         track: bool = False) -> dict[str, Any] | None:
    """Write the PostgreSQL store at `url` into a new SQLite store at `path`; with `track`,
    returns the change-tracking position of what it copied (a backup's `changes`).
    PostgreSQL's `rowid` columns (api_usage, context_packs) become the SQLite rowids, as
    the rollups' watermark and an incremental's delta know them."""
    SQLiteStore(path).close()  # the schema, its triggers, an empty change history
    lite = sqlite3.connect(path, isolation_level=None)
    pg = psycopg.connect(url)
    try:
        pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # A temporary file until it is whole: no journal (the WAL would write every page
        # twice), and a cache that holds the indexes while they are built.
        lite.execute("PRAGMA journal_mode = OFF")
        lite.execute("PRAGMA synchronous = OFF")
        lite.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        lite.execute("BEGIN")
        indexes = _drop_indexes(lite)
        where = pg_changes.position(pg) if track else None  # the snapshot starts here
        for table in _tables(lite):
            have = set(_pg_columns(pg, table))
            cols = [c for c in _lite_columns(lite, table) if c in have]
            if "rowid" in have:
                cols = ["rowid", *cols]
            if table == _META:
                lite.execute(f"DELETE FROM {_META}")
            insert = (f'INSERT INTO "{table}" ({_quoted(cols)})'
                      f" VALUES ({', '.join('?' * len(cols))})")
            keys = [(i, _AS_KEY[table, c]) for i, c in enumerate(cols) if (table, c) in _AS_KEY]
            with pg.cursor(name=f"dump_{table}") as cur:
                cur.itersize = CHUNK
                cur.execute(f'SELECT {_quoted(cols)} FROM "{table}"'
                            + (" ORDER BY id" if "id" in cols else ""))
                for rows in read_ahead(iter(partial(cur.fetchmany, CHUNK), []), 2):
                    if keys:
                        rows = [_keyed(r, keys) for r in rows]
                    lite.executemany(insert, rows)
                    if progress:
                        progress(table, len(rows))
        for sql in indexes:
            lite.execute(sql)
        lite.execute("COMMIT")
        lite.execute("PRAGMA journal_mode = WAL")  # as every store is
        return where
    finally:
        pg.rollback()
        pg.close()
        lite.close()


def load(path: str, url: str, progress: Progress | None = None) -> None:
    """Copy the SQLite store at `path` into the PostgreSQL store at `url` (made by opening
    it: the schema must be there). Run again after an interruption, it goes on."""
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                           check_same_thread=False)  # read ahead in a thread (one at a time)
    pg = psycopg.connect(url, autocommit=True)
    try:
        lite.execute("BEGIN")  # one consistent view of the source
        if not pg.execute("SELECT EXISTS (SELECT 1 FROM messages)").fetchone()[0]:  # type: ignore[index]
            with pg.transaction():  # a new database: its indexes built once, after the rows
                deferred.defer(pg, None)
        for table in _tables(lite):
            have = set(_pg_columns(pg, table))
            cols = [c for c in _lite_columns(lite, table) if c in have]
            total = lite.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            there = pg.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # type: ignore[index]
            if table == _META:  # the source's identity replaces the new database's
                pg.execute(f"DELETE FROM {_META}")
                there = -1
            if there == total:
                continue
            after = None
            if _integer_id(lite, table):  # resume after the highest id copied
                after = pg.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"').fetchone()[0]  # type: ignore[index]
            elif there > 0:
                pg.execute(f'DELETE FROM "{table}"')  # copied in part: again, whole
            cur = lite.execute(f'SELECT {_selected(table, cols)} FROM "{table}"'
                               + (" WHERE id > ? ORDER BY id" if after is not None else ""),
                               (after,) if after is not None else ())
            unpack = (_content_unpacker(lite, cols) if table == "messages"
                      else _blob_unpacker(cols) if table == "blobs" else None)
            chunks = iter(partial(cur.fetchmany, CHUNK), [])
            if unpack is not None:
                chunks = (list(map(unpack, rows)) for rows in chunks)
            # the next chunk read and unpacked while the server takes this one
            for rows in read_ahead(chunks, 2):
                with pg.transaction(), pg.cursor().copy(
                        f'COPY "{table}" ({_quoted(cols)}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
                if progress:
                    progress(table, len(rows))
            if _integer_id(lite, table):  # identity columns go on after the copied ids
                pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                           f' (SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)')
        deferred.build(url)
        lite.execute("COMMIT")
    finally:
        lite.close()
        pg.close()


def _keyed(row: tuple[Any, ...], keys: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    """A row from PostgreSQL as SQLite stores it: its `keys` (_AS_KEY) made bytes."""
    out = list(row)
    for i, key in keys:
        out[i] = key(out[i])
    return tuple(out)


def _selected(table: str, cols: list[str]) -> str:
    """The columns read from a SQLite store for PostgreSQL: uuids and uids as their text
    (_AS_TEXT), made by SQLite rather than a Python call per row."""
    def column(c: str) -> str:
        text = _AS_TEXT.get((table, c))
        return f'{text(c)} AS "{c}"' if text else f'"{c}"'
    return ", ".join(map(column, cols))


def _content_unpacker(lite: sqlite3.Connection,
                      cols: list[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | None:
    """PostgreSQL keeps message content plain (its SQL reads it): a row's packed content
    (packing.py) goes over as text, with the content hash SQLite derives (packing.HASH)."""
    if "content_z" not in cols:
        return None
    c, z, h = cols.index("content"), cols.index("content_z"), cols.index("content_hash")
    codec = MetaCodec()

    def unpack(row: tuple[Any, ...]) -> tuple[Any, ...]:
        out = list(row)
        out[c], out[z] = codec.text(lite, row[c], row[z]), None
        out[h] = out[h] or content_hash(out[c])  # SQLite derives it (packing.HASH)
        return tuple(out)
    return unpack


def _blob_unpacker(cols: list[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """PostgreSQL keeps blobs plain: a packed one (packing.pack_blob, 0025) goes over unpacked."""
    d, s = cols.index("data"), cols.index("size")

    def unpack(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*row[:d], unpack_blob(row[d], row[s]), *row[d + 1:])
    return unpack


def pg_summary(url: str) -> dict[str, Any]:
    """Table counts and the message digest of a PostgreSQL store, as `summarize` gives them
    for a SQLite one (one consistent read)."""
    with psycopg.connect(url) as pg:
        pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        names = [r[0] for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' ORDER BY table_name")]
        counts = {t: pg.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
                  for t in names if t not in changes.BOOKKEEPING and t != deferred.TABLE}
        total = n = 0
        with pg.cursor(name="digest") as cur:
            cur.execute("SELECT uid, content_hash FROM messages")
            while rows := cur.fetchmany(CHUNK):
                t, k = digest.row_sum(rows)
                total, n = total + t, n + k
        version = pg.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]  # type: ignore[index]
        pg.rollback()
    return {"schema_version": version, "counts": counts, "digest": digest.as_dict(total, n)}


def lite_summary(path: str) -> dict[str, Any]:
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        lite.execute("BEGIN")
        return summarize(lite)
    finally:
        lite.close()


class PostgresSnapshot(_FileSource):
    """A full backup's image of a PostgreSQL store: a SQLite store file in the workdir made
    by `dump`, read like SQLite's own snapshot, removed on close."""

    method = "dump"
    what = "image of the PostgreSQL store"

    def __init__(self, store: Any, workdir: str) -> None:
        self.path = temp_file(Path(workdir), "pgimage")
        try:
            where = dump(store.url, str(self.path), track=True)
            self._summary = {**lite_summary(str(self.path)), "changes": where}
            lite = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            self.page_size = lite.execute("PRAGMA page_size").fetchone()[0]
            self.page_count = lite.execute("PRAGMA page_count").fetchone()[0]
            lite.close()
            self.fd = os.open(self.path, os.O_RDONLY)
        except BaseException:
            self.close()
            raise
        self.size = self.page_size * self.page_count

    @property
    def info(self) -> dict[str, Any]:
        """The image is a SQLite store: SQLite's restore reads it (`source`: what it was)."""
        return {**super().info, "source": "postgresql"}

    def summary(self) -> dict[str, Any]:
        return self._summary

    def close(self) -> None:
        super().close()
        _remove(self.path)


def is_url(where: str) -> bool:
    return where.startswith(("postgres://", "postgresql://"))


def copy_store(source: str, dest: str, workdir: Path,
               progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copy the whole store at `source` to `dest` (each a postgresql:// URL or a SQLite store
    file); returns both sides' summaries (counts, digest) for the caller to compare. A copy
    into PostgreSQL that was interrupted goes on where it stopped; a SQLite file is written
    aside and renamed into place when complete."""
    from ...errors import StoreError
    from .backend import PostgresStore

    if not is_url(source):
        if not Path(source).is_file():
            raise StoreError(f"no store at {source}: name a memory.db file or a postgresql:// URL")
        SQLiteStore(source, readonly=True).close()  # a store, at this version
    else:
        PostgresStore(source, readonly=True).close()
    if is_url(dest):
        target = PostgresStore(dest)  # the schema, made or brought up to date
        try:
            _same_store_or_empty(target, source)
        finally:
            target.close()
        if is_url(source):
            image = temp_file(workdir, "copy")
            try:
                dump(source, str(image), progress)
                load(str(image), dest, progress)
            finally:
                _remove(image)
        else:
            load(source, dest, progress)
        return (pg_summary(source) if is_url(source) else lite_summary(source)), pg_summary(dest)
    if Path(dest).exists():
        raise StoreError(f"{dest} already exists: copy to a new file (a store is never overwritten)")
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(dest).with_name(f".{Path(dest).name}.copy-{os.getpid()}")
    try:
        if is_url(source):
            dump(source, str(tmp), progress)
        else:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            out = sqlite3.connect(tmp)
            try:
                src.backup(out)  # one read transaction: a consistent copy
            finally:
                src.close()
                out.close()
        os.replace(tmp, dest)
    finally:
        _remove(tmp)
    return (pg_summary(source) if is_url(source) else lite_summary(source)), lite_summary(dest)


def _same_store_or_empty(target: Any, source: str) -> None:
    """A copy goes into an empty database, or into an earlier copy of the same store."""
    from ...errors import StoreError

    if target.status()["messages"] == 0 and not target.runs(1):
        return
    if is_url(source):
        with psycopg.connect(source) as pg:
            row = pg.execute("SELECT value FROM store_meta WHERE key = 'store_id'").fetchone()
    else:
        lite = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        row = lite.execute("SELECT value FROM store_meta WHERE key = 'store_id'").fetchone()
        lite.close()
    mine = target.db.execute("SELECT value FROM store_meta WHERE key = 'store_id'").fetchone()
    if not row or not mine or row[0] != mine[0]:
        raise StoreError(f"{target.path} already holds another store: copy into an empty database")
