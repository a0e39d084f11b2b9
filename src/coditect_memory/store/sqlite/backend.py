"""SQLite backend (WAL): the embedded default.

A connection per thread (opened lazily, closed together), each in autocommit mode with
explicit BEGIN IMMEDIATE transactions, so a batch and its watermark land together or not at
all.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from importlib import resources
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from ...derive import row_facts
from ...errors import MemoryError_, StorageIOError, StoreError, StoreLocked, io_error
from ...sources.text import compact_json
from ..base import Batch, FileState, FileUpdate, IngestError, Store
from ..protocol.admin import SchemaVersions
from ..protocol.read import Message, Run, RunError, RunFile, Session, SourceFile, Status
from . import backfill, changes, queries
from .access import SQLiteAccess
from .backup import SQLiteBackup
from .behind import Prepared, SQLiteWriteBehind
from .bulk import SQLiteBulk
from .export import SQLiteTransfer
from .file_versions import SQLiteFileVersions
from .index_follow import SQLiteIndexFollow
from .memories import SQLiteMemories
from .packing import MetaCodec, pack_blob, sql_functions, uid_key, uuid_key
from .plan_sessions import SQLitePlanSessions
from .privacy import SQLitePrivacy
from .reports import SQLiteReports
from .rollups_behind import SQLiteReportsBehind
from .search import SQLiteSearch
from .sync import SQLiteSync
from .sync_held import SQLiteSyncHeld
from .sync_mutable import SQLiteSyncMutable
from .usage_times import SQLiteUsageTimes

_MSG_COLS = (
    "uid, session_id, project_id, source_kind, type, role, content, content_hash, blob_sha256,"
    " ts, component, level, tool_name, tool_use_id, is_error, is_meta, is_sidechain, agent_id,"
    " ext_id, parent_ext_id, model, source_file_id, source_line, source_offset, run_id, metadata,"
    " is_prompt, count_kind, count_name, error_signature,"  # derive.ROW_FACTS
    " metadata_z,"  # metadata packed (packing.py)
    " content_z"  # content packed (packing.py, migration 0022)
)
_COLS = [c.strip() for c in _MSG_COLS.split(",")]
_SESSION_COL, _PROJECT_COL, _FILE_COL = map(_COLS.index, ("session_id", "project_id", "source_file_id"))
_VALUES = f"VALUES ({', '.join('?' * len(_COLS))})"
_INSERT = f"INSERT INTO messages ({_MSG_COLS}) {_VALUES} ON CONFLICT(uid) DO NOTHING"
_UPSERT = (
    f"INSERT INTO messages ({_MSG_COLS}) {_VALUES} ON CONFLICT(uid) DO UPDATE SET"
    " content = excluded.content, content_z = excluded.content_z,"
    " content_hash = excluded.content_hash, component = excluded.component,"
    " count_kind = excluded.count_kind, count_name = excluded.count_name,"
    " error_signature = excluded.error_signature"
    " WHERE messages.content IS NOT excluded.content OR messages.content_z IS NOT excluded.content_z"
    " OR messages.content_hash IS NOT excluded.content_hash"
)


CACHE_KIB = 131072  # SQLite's page cache per connection (random inserts into the uid index)
_PRAGMAS = ("synchronous=NORMAL", "foreign_keys=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}",
            "wal_autocheckpoint=20000", "recursive_triggers=ON")


def _sha(text: str | None) -> str | None:
    if text is None:
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def settle_rows(rows: list[tuple[Any, ...]], projects: dict[Any, int]) -> list[tuple[Any, ...]]:
    """The rows (_MSG_COLS) with their session's project."""
    if not projects:
        return rows
    get, at = projects.get, _PROJECT_COL
    return [row if (pid := get(row[_SESSION_COL])) is None or pid == row[at]
            else (*row[:at], pid, *row[at + 1:]) for row in rows]


def _same(value: Any) -> Any:
    return value


class _Keys(dict[Any, Any]):
    """`make(value)` of each value looked up (`keys[value]`), made once."""

    def __init__(self, make: Any) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, value: Any) -> Any:
        made = self[value] = self.make(value)
        return made


def _meta(value: Any) -> str | None:
    if not value:
        return None
    return compact_json(value)  # any depth the parser accepted


@cache
def migrations() -> tuple[tuple[int, str, str], ...]:
    """(version, file name, SQL) of every migration, in order: read once per process (a
    store's open asks several times)."""
    folder = resources.files(__package__).joinpath("migrations")
    out = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            out.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return tuple(sorted(out))


USAGE_MAX = ", ".join(f"{c} = max(api_usage.{c}, excluded.{c})" for c in (
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"))

class SQLiteStore(SQLiteSearch, SQLiteReports, SQLiteBackup, SQLiteTransfer, SQLiteAccess,
                  SQLiteMemories, SQLitePrivacy, SQLiteUsageTimes, SQLiteSync, SQLiteSyncMutable, SQLiteSyncHeld,
                  SQLiteFileVersions, SQLiteIndexFollow, SQLitePlanSessions, SQLiteBulk, SQLiteWriteBehind, SQLiteReportsBehind, Store):
    kind = "sqlite"
    packs_content = True  # message texts compressed (packing.py); not on PostgreSQL

    def __init__(self, path: str, busy_timeout: float = 30.0, readonly: bool = False,
                 create: bool = True, shown_path: str | None = None, check: bool = True) -> None:
        """Open (or, writable with `create`, make) the store at `path`.

        Read-only opens use SQLite's `mode=ro`: nothing is created, migrated or installed,
        so another user's store or a mounted backup can be read. Schema work happens here,
        once; every thread then opens its own connection on first use (`self.db`)."""
        self.path = path
        self.shown_path = shown_path or path  # what `status` names (see StoreInfo.path)
        self.readonly = readonly
        self._timeout = busy_timeout
        self._local = threading.local()
        self._conns: dict[threading.Thread, sqlite3.Connection] = {}
        self._guard = threading.Lock()
        self._projects: dict[str, int] = {}
        self._session_projects: dict[str, int] = {}  # committed, never changed (settled)
        if (readonly or not create) and not Path(path).exists():
            raise StoreError(f"no store at {path}: run `memory ingest` first (or set MEMORY_HOME)")
        if readonly:
            if check:
                self._check_schema()
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")  # persistent: once, not per thread
        except sqlite3.DatabaseError as e:
            self.close()
            raise self._open_error(e) from None
        self._migrate()

    # --- plumbing ---------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (an API or MCP server calls the
        store from a thread pool; an sqlite3 connection must not be shared by threads)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @db.setter
    def db(self, conn: sqlite3.Connection) -> None:
        """This thread's connection replaced (tests that reopen a file); closed by close()."""
        self._local.conn = conn
        self._keep(conn)

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                uri = f"{Path(self.path).absolute().as_uri()}?mode=ro"
                if _frozen(self.path):
                    uri += "&immutable=1"  # no -shm can be made there, and none is needed
                conn = sqlite3.connect(uri, uri=True, timeout=self._timeout, isolation_level=None,
                                       check_same_thread=False)
            else:
                conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                                       check_same_thread=False)  # close() runs in any thread
            # recursive_triggers: a row an INSERT OR REPLACE removes is logged for backups too
            for pragma in _PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
        except sqlite3.DatabaseError as e:
            raise self._open_error(e) from None
        sql_functions(conn, self.meta_codec)  # packing.CONTENT, packing.HASH
        conn.row_factory = sqlite3.Row
        self._keep(conn)
        return conn

    def _keep(self, conn: sqlite3.Connection) -> None:
        """Remember this thread's connection for close(); close those of threads that ended
        (a server that starts a thread per request does not pile connections up)."""
        with self._guard:
            for thread in [t for t in self._conns if not t.is_alive()]:
                self._conns.pop(thread).close()
            old = self._conns.get(threading.current_thread())
            self._conns[threading.current_thread()] = conn
        if old is not None and old is not conn:
            old.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection (BEGIN IMMEDIATE: writers queue)."""
        if self.readonly:
            raise StoreError(f"the store {self.path} is open read-only; this needs it writable")
        db = self.db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise StoreLocked("the store is locked by another writer; try again later") from None
            mine = self._io_error(e, "writing")
            if mine is not None:
                raise mine from e
            raise
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as e:
            self._projects.clear()  # ids inserted by this transaction are gone
            self._session_projects.clear()
            if db.in_transaction:  # SQLite may have rolled back itself (a full disk)
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            mine = self._io_error(e, "writing")
            if mine is not None:
                raise mine from e
            raise

    def _io_error(self, e: BaseException, doing: str) -> StorageIOError | None:
        """The one place SQLite's I/O errors (full, failing, read-only disk) become ours."""
        if not isinstance(e, sqlite3.Error):
            return None
        return io_error(e, f"{doing} the store {self.path}", Path(self.path).parent)

    def _open_error(self, e: sqlite3.DatabaseError) -> MemoryError_:
        """Why the store cannot be opened: its disk's refusal, else a damaged store."""
        return self._io_error(e, "opening") or StoreError(
            f"cannot open the store {self.path}: {e}; run `memory doctor`")

    def _check_schema(self) -> None:
        """A read-only open cannot migrate: a store behind this version says what to run."""
        try:
            have = {r[0] for r in self.db.execute("SELECT version FROM schema_migrations")}
        except sqlite3.OperationalError:
            have = set()
        except sqlite3.DatabaseError as e:
            self.close()
            raise StoreError(f"cannot open the store {self.path}: {e}; run `memory doctor`") from None
        self._newer_refused()
        if any(m[0] not in have for m in migrations()):
            self.close()
            raise StoreError(f"the store {self.path} needs an upgrade to this version: run "
                             "`memory ingest` (or open it writable) first")

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
        self._newer_refused()
        have = {r[0] for r in self.db.execute("SELECT version FROM schema_migrations")}
        todo = [m for m in migrations() if m[0] not in have]
        for version, name, sql in todo:
            with self.tx() as db:
                if db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                    continue  # another process applied it while we waited
                for statement in _statements(sql):
                    db.execute(statement)
                if version in backfill.STEPS:
                    backfill.STEPS[version](db)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                           (version, name, int(time.time() * 1000)))
        if changes.missing_triggers(self.db):
            with self.tx() as db:
                changes.settle_triggers(db)

    def schema_version(self) -> int:
        return self.db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0

    def schema_versions(self) -> SchemaVersions:
        known = [m[0] for m in migrations()]
        try:
            applied = sorted(r[0] for r in self.db.execute("SELECT version FROM schema_migrations"))
        except sqlite3.OperationalError:
            applied = []
        return {"applied": applied, "pending": [v for v in known if v not in applied],
                "known": known}

    def server_version(self) -> str | None:
        return sqlite3.sqlite_version

    def _newer_refused(self) -> None:
        """A store written by a newer memory (a migration this code does not know) is not
        touched: this code would misread it."""
        newer = [v for v in self.schema_versions()["applied"] if v > migrations()[-1][0]]
        if newer:
            self.close()
            raise StoreError(f"the store {self.path} was upgraded by a newer version of memory"
                             f" (schema {newer[-1]}; this one knows up to {migrations()[-1][0]}):"
                             " upgrade memory to use it")

    def close(self) -> None:
        """Close every thread's connection (the store is not used after this)."""
        with self._guard:
            conns, self._conns = self._conns, {}
        for conn in conns.values():
            conn.close()
        self._local = threading.local()

    # --- ingest ------------------------------------------------------------------------
    def begin_run(self, root: str, fmt: str) -> int:
        now = int(time.time() * 1000)
        with self.tx() as db:
            # We hold the ingest lock: any run still marked running was killed.
            db.execute("UPDATE extraction_runs SET status = 'interrupted',"
                       " message = 'the process ended before the run completed'"
                       " WHERE status = 'running'")
            cur = db.execute("INSERT INTO extraction_runs (started_at, status, root, format, pid)"
                             " VALUES (?, 'running', ?, ?, ?)", (now, root, fmt, os.getpid()))
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, stats: dict[str, Any], status: str,
                   message: str | None = None) -> None:
        cols = ("files_seen", "files_changed", "files_unknown", "bytes_read", "messages_read",
                "messages_new", "duplicates", "errors", "manifest_sha256")
        with self.tx() as db:
            db.execute(
                f"UPDATE extraction_runs SET {', '.join(c + ' = ?' for c in cols)},"
                " finished_at = ?, status = ?, message = ? WHERE id = ?",
                (*(stats.get(c, 0) for c in cols), int(time.time() * 1000), status, message, run_id),
            )

    def manifest(self, root: str) -> dict[str, FileState]:
        out = {}
        for r in self.db.execute("SELECT * FROM source_files WHERE root = ?", (root,)):
            out[r["path"]] = FileState(
                id=r["id"], path=r["path"], kind=r["kind"], size=r["size"], mtime_ns=r["mtime_ns"],
                sha256=r["sha256"], bytes_consumed=r["bytes_consumed"],
                lines_consumed=r["lines_consumed"], prefix_sha256=r["prefix_sha256"],
                state=orjson.loads(r["state"]) if r["state"] else {},
                partial_tail=bool(r["partial_tail"]), missing_since=r["missing_since"])
        return out

    def register_files(self, root: str, files: list[tuple[str, str]]) -> dict[str, int]:
        if not files:
            return {}
        with self.tx() as db:
            db.executemany("INSERT INTO source_files (root, path, kind) VALUES (?, ?, ?)"
                           " ON CONFLICT(root, path) DO UPDATE SET kind = excluded.kind",
                           [(root, p, k) for p, k in files])
            paths = [p for p, _ in files]  # looked up by index: an import registers one at a time
            ids: dict[str, int] = {}
            for i in range(0, len(paths), 500):
                part = paths[i:i + 500]
                ids.update(db.execute("SELECT path, id FROM source_files WHERE root = ? AND path IN"
                                      f" ({', '.join('?' * len(part))})", (root, *part)))
            return ids

    def note_files(self, root: str, seen: list[tuple[str, str, int, int]], now: int,
                   mark_missing: bool = True) -> None:
        with self.tx() as db:
            db.executemany(
                "INSERT INTO source_files (root, path, kind, size, mtime_ns) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(root, path) DO UPDATE SET kind = excluded.kind, size = excluded.size,"
                " mtime_ns = excluded.mtime_ns, missing_since = NULL",
                [(root, p, k, s, m) for p, k, s, m in seen if k in ("unknown", "not_read")])
            db.execute("CREATE TEMP TABLE IF NOT EXISTS seen_paths (path TEXT PRIMARY KEY)")
            db.execute("DELETE FROM seen_paths")
            db.executemany("INSERT OR IGNORE INTO seen_paths VALUES (?)", [(p,) for p, *_ in seen])
            if mark_missing:
                db.execute("UPDATE source_files SET missing_since = ? WHERE root = ?"
                           " AND missing_since IS NULL AND path NOT IN (SELECT path FROM seen_paths)",
                           (now, root))
            db.execute("UPDATE source_files SET missing_since = NULL WHERE root = ?"
                       " AND missing_since IS NOT NULL AND path IN (SELECT path FROM seen_paths)", (root,))

    @property
    def meta_codec(self) -> MetaCodec:
        """Packs and unpacks `messages.metadata` (made on first use: PostgresStore shares it)."""
        codec: MetaCodec | None = getattr(self, "_meta_codec", None)
        if codec is None:
            codec = self._meta_codec = MetaCodec()
        return codec

    def _project_id(self, db: sqlite3.Connection, path: str | None, ts: int | None) -> int | None:
        if not path:
            return None
        pid = self._projects.get(path)
        if pid is None:
            name = path.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or path
            db.execute("INSERT INTO projects (path, name, first_seen, last_seen) VALUES (?, ?, ?, ?)"
                       " ON CONFLICT(path) DO NOTHING", (path, name, ts, ts))
            pid = db.execute("SELECT id FROM projects WHERE path = ?", (path,)).fetchone()[0]
            self._projects[path] = pid
        return pid

    def write_batch(self, batch: Batch) -> tuple[int, int]:
        """One batch, one transaction with its files' watermarks. During an ingest run that
        asked for it (`write_behind`), its rows are built here and handed to the writer
        process (behind.py), which packs and stores them while the caller reads the next
        batch: then (0, 0) is returned and the counts come from `written()`."""
        prep = self._prepare(batch)
        if self._behind_writer is not None:  # behind.py
            self._behind_writer.send(prep)
            return 0, 0
        with self.tx() as db:
            new = self._write_prepared(db, prep)
        return new, len(batch.records) - new

    def _write_prepared(self, db: Any, prep: Prepared) -> int:
        """A prepared batch's writes (all that needs the database), in the caller's
        transaction; returns its new rows (`prep.new_by_file` filled)."""
        plain, growing = self._rows_to_write(db, prep)
        settled = self._settled_projects(db, prep)
        # rows hold session ids as packing.uuid_key has them (0027)
        plain = settle_rows(plain, {uuid_key(s): p for s, p in settled.items()}
                            if self.packs_content else settled)
        new_by_file = prep.new_by_file
        for file_id, rows in groupby(plain, key=itemgetter(_FILE_COL)):  # rows come file by file
            before = db.total_changes
            db.executemany(_INSERT, rows)
            new_by_file[file_id] = new_by_file.get(file_id, 0) + db.total_changes - before
        self._write_growing(db, growing, new_by_file)
        new = self._batch_rest(db, prep)
        self._session_projects.update(settled)  # committed with the caller's transaction
        return new

    def _settled_projects(self, db: Any, batch: Prepared) -> dict[str, int]:
        """The project of each session of the batch, as its sessions row has it once the batch
        is stored (the first project it was seen in: `_write_sessions` keeps a stored one).
        Its messages are written with it, so the run's end (`settle_projects`) finds nothing
        to change: an UPDATE writes the row again with its index entries (a first ingest
        rewrote 40% of its rows so: debug-log lines have a session but no folder)."""
        known = self._session_projects
        ask = [sid for sid in batch.sessions if sid not in known]
        out = {sid: known[sid] for sid in batch.sessions if sid in known}
        if ask:
            stored: dict[str, int] = {}
            for at in range(0, len(ask), 500):
                part = ask[at:at + 500]
                stored.update(db.execute(
                    f"SELECT id, project_id FROM sessions WHERE id IN ({', '.join('?' * len(part))})"
                    " AND project_id IS NOT NULL", part).fetchall())
            for sid in ask:
                pid = stored.get(sid) or self._project_id(db, batch.sessions[sid].get("project"),
                                                          batch.sessions[sid].get("start"))
                if pid is not None:
                    out[sid] = pid
        return out

    def _prepare(self, batch: Batch) -> Prepared:
        """What a batch writes, built without the database: message rows of _MSG_COLS up to
        `metadata`, as the records have them (`_finish_rows` adds the rest and packs), the
        positions of the growing ones, the blobs (not packed either) and the usage rows.
        Only what needs the records is done here: the ingest process is the critical path
        (behind.py), and a column made from the row itself (keys, row facts) costs the
        writer what it would cost here (150k messages: 1.5 CPU s here, 1.4 there)."""
        rows: list[tuple[Any, ...]] = []
        growing: list[int] = []
        blobs: list[tuple[str, int, int, bytes]] = []
        packed = self.packs_content
        for rec, file_id in batch.records:
            content = rec.content
            blob_sha = None
            if rec.blob is not None:
                blob_sha = hashlib.sha256(rec.blob).hexdigest()
                blobs.append((blob_sha, len(rec.blob), int(b"\x00" not in rec.blob[:8192]), rec.blob))
            # SQLite keeps no hash of a text it stores: packing.HASH recomputes it (0024)
            chash = blob_sha if content is None else None if packed else _sha(content)
            meta = rec.metadata
            is_meta = 1 if rec.is_meta or (meta and meta.get("isMeta") is True) else 0
            row = (rec.uid, rec.session_id, rec.project or None, rec.kind,
                   rec.type, rec.role, content, chash, blob_sha, rec.ts, rec.component, rec.level,
                   rec.tool_name, rec.tool_use_id, int(rec.is_error), is_meta,
                   int(rec.is_sidechain), rec.agent_id, rec.ext_id, rec.parent_ext_id, rec.model,
                   file_id, rec.line, rec.offset,
                   rec.origin.run_id if rec.origin else batch.run_id,
                   _meta(meta) if rec.metadata_json is None else rec.metadata_json.decode())
            if rec.replace:
                growing.append(len(rows))
            rows.append(row)
        return Prepared(batch.run_id, rows, growing, blobs, self._usage_rows(batch),
                        batch.file_backups, batch.sessions, batch.errors, batch.files,
                        batch.new_by_file)

    def _usage_rows(self, batch: Batch) -> list[tuple[Any, ...]]:
        sid = _Keys(uuid_key).__getitem__ if self.packs_content else _same  # as messages' (0028)
        return [(u.message_id, u.request_id, sid(u.session_id), u.model, u.ts, u.input_tokens,
                 u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, int(u.is_sidechain))
                for u in batch.usage]

    def _rows_to_write(self, db: Any, prep: Prepared) -> tuple[list[tuple[Any, ...]],
                                                              list[tuple[Any, ...]]]:
        """The prepared rows with their project ids and packed texts (packing.py), split in
        plain and growing (a debug log's last entry, which may have grown); the dictionaries
        they are packed with and the batch's blobs are written."""
        rows = self._finish_rows(db, prep.rows)  # in record order: the dictionaries' samples
        plain, growing = rows, []
        if prep.growing:
            at = set(prep.growing)
            plain = [row for i, row in enumerate(rows) if i not in at]
            growing = [rows[i] for i in prep.growing]
        self.meta_codec.save(db)
        if prep.blobs:
            db.executemany(
                "INSERT INTO blobs (sha256, size, is_text, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(sha256) DO NOTHING",
                [(sha, size, is_text, pack_blob(data)) for sha, size, is_text, data in prep.blobs]
                if self.packs_content else prep.blobs)  # 0025
        return plain, growing

    def _finish_rows(self, db: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Rows of `_prepare` made whole (_MSG_COLS): the project's id for its path, on
        SQLite the uid and uuids as the 16 bytes it keeps (packing.uid_key, uuid_key: 0024,
        0025, 0027), the row facts (derive.row_facts), metadata packed and, on SQLite, the
        text packed."""
        pack = self.meta_codec.pack
        pack_content = self.meta_codec.pack_content if self.packs_content else None
        project = self._project_id  # the path's id, looked up once (self._projects)
        # a batch repeats its session and uuids (a message's blocks, its parent): each made once
        key, ext = (uid_key, _Keys(uuid_key).__getitem__) if self.packs_content else (_same, _same)
        out = []
        for (uid, session_id, path, kind, type_, role, text, chash, blob_sha, ts, component, level,
             tool_name, tool_use_id, is_error, is_meta, is_sidechain, agent_id, ext_id, parent_ext_id,
             model, file_id, line, offset, run_id, meta) in rows:
            meta_text, meta_z = pack(db, kind, meta)
            content, content_z = (text, None) if pack_content is None else pack_content(
                db, kind, type_, text)
            out.append((key(uid), ext(session_id), project(db, path, ts), kind, type_, role, content,
                        chash, blob_sha, ts, component, level, tool_name, tool_use_id, is_error,
                        is_meta, is_sidechain, agent_id, ext(ext_id), ext(parent_ext_id), model,
                        file_id, line, offset, run_id, meta_text,
                        *row_facts(type_, kind, bool(is_meta), bool(is_sidechain), component,
                                   bool(is_error), tool_name, text), meta_z, content_z))
        return out

    def _write_growing(self, db: Any, growing: list[tuple[Any, ...]],
                       new_by_file: dict[int, int]) -> None:
        for row in growing:  # rare: the last entry of a debug log, which may have grown
            exists = db.execute("SELECT 1 FROM messages WHERE uid = ?", (row[0],)).fetchone()
            db.execute(_UPSERT, row)
            if not exists:
                new_by_file[row[_FILE_COL]] = new_by_file.get(row[_FILE_COL], 0) + 1

    def _batch_rest(self, db: Any, batch: Prepared) -> int:
        """Everything of a batch but its messages, once batch.new_by_file is known; returns
        the batch's new rows."""
        new_by_file = batch.new_by_file
        new = sum(new_by_file.values())
        # a file's count grows in the transaction that stores its rows, so a run killed
        # before the file's watermark lands loses none of it (the re-read finds duplicates)
        db.executemany("UPDATE source_files SET messages = messages + ? WHERE id = ?",
                       [(n, file_id) for file_id, n in new_by_file.items() if n])
        if batch.usage_rows:
            self._write_usage(db, batch.usage_rows)
        if batch.file_backups:
            db.executemany("INSERT INTO file_backups VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           batch.file_backups)
        self._write_sessions(db, batch.sessions)
        if batch.errors:
            self._errors(db, batch.run_id, batch.errors)
        for f in batch.files:
            f.messages_new += new_by_file.get(f.file_id, 0)
        self._files_done(db, batch.run_id, batch.files)
        return new

    def _write_usage(self, db: Any, rows: list[tuple[Any, ...]]) -> None:
        db.executemany(
            "INSERT INTO api_usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            # a streamed response repeats its usage on every line, and only the last line
            # has the final output count: keep the largest of each figure
            f" ON CONFLICT(message_id, request_id) DO UPDATE SET {USAGE_MAX}", rows)

    def _write_sessions(self, db: sqlite3.Connection, sessions: dict[str, dict[str, Any]]) -> None:
        rows = []
        for sid, f in sessions.items():
            rows.append((sid, self._project_id(db, f.get("project"), f.get("start")), f.get("start"),
                         f.get("end"), f.get("git_branch"), f.get("version"), f.get("slug"),
                         f.get("parent_ref")))
        db.executemany(
            "INSERT INTO sessions (id, project_id, started_at, ended_at, git_branch, version, slug,"
            " parent_ref, dirty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(id) DO UPDATE SET"
            " parent_ref = coalesce(sessions.parent_ref, excluded.parent_ref),"
            " project_id = coalesce(sessions.project_id, excluded.project_id),"
            " started_at = min(coalesce(sessions.started_at, excluded.started_at),"
            "                  coalesce(excluded.started_at, sessions.started_at)),"
            " ended_at = max(coalesce(sessions.ended_at, excluded.ended_at),"
            "                coalesce(excluded.ended_at, sessions.ended_at)),"
            " git_branch = coalesce(excluded.git_branch, sessions.git_branch),"
            " version = coalesce(excluded.version, sessions.version),"
            " slug = coalesce(excluded.slug, sessions.slug), dirty = 1", rows)

    def _errors(self, db: sqlite3.Connection, run_id: int, errors: list[IngestError]) -> None:
        db.executemany("INSERT INTO ingest_errors (run_id, path, line, byte_offset, severity, reason)"
                       " VALUES (?, ?, ?, ?, ?, ?)", [(run_id, *e) for e in errors])

    def record_errors(self, run_id: int, errors: list[IngestError]) -> None:
        with self.tx() as db:
            self._errors(db, run_id, errors)

    def _files_done(self, db: sqlite3.Connection, run_id: int, files: list[FileUpdate]) -> None:
        """Watermarks of the files whose last rows are in this batch (many small files a batch)."""
        if not files:
            return
        db.executemany(
            "UPDATE source_files SET kind = ?, size = ?, mtime_ns = ?, sha256 = ?, bytes_consumed = ?,"
            " lines_consumed = ?, prefix_sha256 = ?, state = ?, partial_tail = ?, errors = ?,"
            " last_error = ?, last_run_id = ?, missing_since = NULL WHERE id = ?",
            [(f.kind, f.size, f.mtime_ns, f.sha256, f.bytes_consumed, f.lines_consumed,
              f.prefix_sha256, _meta(f.state), int(f.partial_tail), f.errors, f.last_error, run_id,
              f.file_id) for f in files])
        db.executemany(
            "INSERT INTO run_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(run_id, source_file_id) DO UPDATE SET"
            " sha256 = excluded.sha256, bytes_read = run_files.bytes_read + excluded.bytes_read,"
            " messages_read = run_files.messages_read + excluded.messages_read,"
            " messages_new = run_files.messages_new + excluded.messages_new,"
            " errors = run_files.errors + excluded.errors",
            [(run_id, f.file_id, f.sha256, f.size, f.bytes_read, f.messages_read, f.messages_new,
              f.errors, f.action) for f in files])

    def derive_sessions(self) -> int:
        from .derive import derive_sessions

        self.build_deferred_indexes()  # left by a killed first ingest: derivation looks rows up by them
        return derive_sessions(self)

    # --- read side ---------------------------------------------------------------------
    def status(self) -> Status:
        return queries.status(self.db, {"kind": self.kind, "path": self.shown_path,
                                        "schema_version": self.schema_version(),
                                        "server_version": self.server_version()})

    def runs(self, limit: int = 20) -> list[Run]:
        return queries.runs(self.db, limit)

    def run_errors(self, run_id: int, limit: int = 50) -> list[RunError]:
        return queries.run_errors(self.db, run_id, limit)

    def run_files(self, run_id: int) -> list[RunFile]:
        return queries.run_files(self.db, run_id)

    def sessions(self, project: str | None = None, limit: int = 50) -> list[Session]:
        return queries.sessions(self.db, project, limit)

    def session(self, session_id: str) -> Session | None:
        return queries.session(self.db, session_id)

    def session_messages(self, session_id: str) -> list[Message]:
        return queries.session_messages(self.db, session_id)

    def files(self, kinds: tuple[str, ...] | None = None) -> list[SourceFile]:
        return queries.files(self.db, kinds)

    def check(self) -> list[str]:
        return queries.check(self.db)


def _frozen(path: str) -> bool:
    """The store is on a read-only file system with nothing left in its WAL: it cannot change,
    and SQLite could not create the -shm file a WAL database otherwise needs to be read."""
    try:
        if not os.statvfs(os.path.dirname(os.path.abspath(path))).f_flag & os.ST_RDONLY:
            return False
        return os.path.getsize(path + "-wal") == 0
    except FileNotFoundError:
        return True  # no WAL file at all
    except OSError:
        return False


def _statements(sql: str) -> list[str]:
    """Split a migration into complete statements (a trigger body holds ';' of its own)."""
    out, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    if current.strip() and not all(ln.strip().startswith("--") or not ln.strip()
                                   for ln in current.splitlines()):
        out.append(current.strip())
    return out
