"""The report rollups' first build on a second connection (store/protocol/reports_behind.py).

A thread, not a process: each of the build's few statements runs in SQLite's C code, which
lets go of the GIL while it steps (psycopg too, while the server works), so the thread takes
the other core while this one goes on in Python. Nothing the thread runs calls back into
Python per row: a Python SQL function would wait for the GIL on every call (session ids are
made text in SQL: packing.uuid_sql).

The build reads the rows in one snapshot, taken once derivation has settled them
(derive_rows) and kept to temp tables (no write lock); it lands in one write transaction once
the sessions' facts are committed (derive_facts: the signatures), replacing every rollup.
If the rollups were written meanwhile (another process's build, a forget's reroll: report_state
tells), it does not land what it read but refreshes them in that transaction instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ...failpoints import failpoint
from .packing import uuid_sql
from .rollups import (
    MAIN,
    _fill,
    _fresh,
    all_stale,
    clear,
    landed,
    refresh_in,
    rolls,
    tops,
    watermarks,
)

_NEW = {key: f"temp.n_{table}" for key, table in MAIN.items()}
# Its connection's page cache, so its sorter's memory, while this process's own connection
# reads the rows for memories: a sort spills to a file sooner at the same CPU (a 1M first
# ingest's tail: 4.9 s, 354 MB resident with 32 MB; 4.8 s, 260 MB with 8; 269 MB before).
CACHE_KIB = 8192
_TEXT_SID = uuid_sql("session_id")


def first_build(db: Any) -> bool:
    """Whether the rollups must be built from nothing (a first ingest's)."""
    return watermarks(db) == (0, 0) and not _fresh(db)


class FirstBuild(threading.Thread):
    """Started once derive_rows is committed; `derived()` once derive_facts is; `wait()`."""

    def __init__(self, store: Any) -> None:
        super().__init__(name="report-rollups", daemon=True)
        self.store = store
        self.go = threading.Event()
        self.read = threading.Event()  # the rows are read (tests wait for it)
        self.cancelled = False
        self.error: BaseException | None = None
        self.start()

    def derived(self) -> None:
        """The sessions' facts are committed: sign and land."""
        self.go.set()

    def cancel(self) -> None:
        self.cancelled = True
        self.go.set()
        self.join()

    def wait(self) -> None:
        self.join()
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        try:
            self._build()
        except BaseException as e:  # raised by wait(); a full or failing disk as ours (backend.py)
            self.error = self.store._io_error(e, "writing") or e

    def _build(self) -> None:
        db = self.store.db  # this thread's own connection
        try:
            db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            db.execute("BEGIN")  # one snapshot of the rows
            try:
                seen, (top, utop) = rolls(db), tops(db)
                for key, table in MAIN.items():
                    db.execute(f"DROP TABLE IF EXISTS {_NEW[key]}")
                    db.execute(f"CREATE TEMP TABLE n_{table} AS SELECT * FROM {table} WHERE 0")
                _fill(db, _NEW, "1", sid=_TEXT_SID)
                none = all_stale(db, _TEXT_SID)
            finally:
                db.execute("COMMIT")
            self.read.set()
            failpoint("rollups-behind:read")  # read, not landed: the next refresh builds them
            self.go.wait()
            if self.cancelled:
                return
            with self.store.tx() as db:
                if rolls(db) != seen:  # written since the snapshot: what it read may be old
                    refresh_in(db)
                    return
                clear(db)
                for key, table in MAIN.items():
                    db.execute(f"INSERT INTO {table} SELECT * FROM {_NEW[key]}")
                landed(db, none, top, utop)
        finally:
            try:
                for name in _NEW.values():
                    db.execute(f"DROP TABLE IF EXISTS {name}")
                db.execute("PRAGMA shrink_memory")
            except Exception:  # noqa: BLE001 - the connection is closed with the store
                pass


class SQLiteReportsBehind:
    _local: threading.local  # SQLiteStore's (and PostgresStore's) per-thread state

    @contextmanager
    def reports_behind(self) -> Iterator[None]:
        builds: list[FirstBuild] = []
        self._local.rollups_behind = builds
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            self._local.rollups_behind = None
            for build in builds:
                if failed:
                    build.join()
                else:
                    build.wait()

    def _leave_behind(self, build: FirstBuild) -> bool:
        """Keep `build` until reports_behind's end (True), or not: outside one (False)."""
        builds = getattr(self._local, "rollups_behind", None)
        if builds is None:
            return False
        builds.append(build)
        return True
