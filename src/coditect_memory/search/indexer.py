"""Keep the keyword index up to date with the store, cheaply and crash-safely.

The store is the source of truth; the index follows it from a watermark (messages.id) kept
in `search_state`. Documents are keyed by message id, so every write is an upsert: a run
killed at any point leaves at worst documents past the watermark, which the next sync
deletes (one range delete) before adding them again. Rows can also change in place:

- a debug log's last entry grows (same uid, longer text): the last indexed row of every
  file read again since the last sync is indexed again (`search_tails`);
- deriving sessions fills project, tool name and history links of older rows of the
  sessions that received new rows: those sessions' older rows are indexed again;
- deleted rows (deleted_at) are removed by `forget(ids)` and skipped by every later sync.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import storage
from .index import (
    KeywordIndex,
    current_version,
    document,
    index_path,
    indexable,
    new_index_id,
    remove_other_indexes,
)

ENGINE = "keyword"
COMMIT_EVERY = 250_000
Progress = Callable[[int, int], None]


@dataclass
class SyncResult:
    indexed: int = 0  # documents added or replaced
    removed: int = 0  # rows looked at that no longer get a document
    done_id: int = 0
    rebuilt: bool = False
    skipped: str | None = None  # why nothing was done (another process is at it)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"indexed": self.indexed, "removed": self.removed, "done_id": self.done_id,
                "rebuilt": self.rebuilt, "skipped": self.skipped, "seconds": round(self.seconds, 3)}


class IndexLock:
    """One writer of the index folder at a time, across processes (flock)."""

    def __init__(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / "keyword.lock"
        self.f = None

    def acquire(self, blocking: bool) -> bool:
        self.f = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            import fcntl
        except ImportError:  # no flock here: Tantivy's own writer lock still guards the files
            return True
        try:
            fcntl.flock(self.f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            return True
        except OSError:
            self.f.close()
            self.f = None
            return False

    def release(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


def current_index(store, index_dir: Path) -> tuple[KeywordIndex | None, dict | None]:
    """The index the store's state names, if it exists on disk."""
    state = storage.get_state(store.db, ENGINE)
    if not state or not state["index_id"] or not current_version(state["index_id"]):
        return None, state
    path = index_path(index_dir, state["index_id"])
    if not (path / "meta.json").exists():
        _open.pop(path, None)
        return None, state
    if path not in _open:  # opened once per process (the API serves many searches)
        try:
            _open[path] = KeywordIndex(path)
        except ValueError:  # damaged or from an incompatible version: rebuild
            return None, state
    return _open[path], state


_open: dict[Path, KeywordIndex] = {}


def behind(store, state: dict | None) -> bool:
    """Cheap (two indexed lookups): does the store hold rows or runs the index has not seen?"""
    if state is None:
        return True
    db = store.db
    return (storage.max_message_id(db) > state["done_id"]
            or storage.settled_run_id(db) > state["last_run_id"])


def sync(store, index_dir: Path, rebuild: bool = False, progress: Progress | None = None,
         wait: bool = False) -> SyncResult:
    """Bring the index up to date (or rebuild it). Without `wait`, returns at once with
    `skipped` set when another process is updating it."""
    t0 = time.perf_counter()
    lock = IndexLock(index_dir)
    if not lock.acquire(blocking=wait or rebuild):
        return SyncResult(skipped="another process is updating the index")
    try:
        ix, state = current_index(store, index_dir)
        if rebuild or ix is None:
            result = _build(store, index_dir, progress)
        else:
            result = _update(store, ix, state, progress)
    finally:
        lock.release()
    result.seconds = time.perf_counter() - t0
    return result


def _build(store, index_dir: Path, progress: Progress | None) -> SyncResult:
    db = store.db
    upto, run_id = storage.max_message_id(db), storage.settled_run_id(db)
    index_id = new_index_id()
    ix = KeywordIndex(index_path(index_dir, index_id), create=True)
    result = SyncResult(rebuilt=True, done_id=upto)
    writer = ix.writer()
    tails: dict[int, int] = {}
    total = upto
    for rows in storage.rows_after(db, 0, upto):
        _add_rows(writer, rows, result, tails)
        if progress:
            progress(rows[-1][0], total)
    writer.commit()
    writer.wait_merging_threads()
    storage.clear_tails(db)
    storage.put_tails(db, tails)
    storage.put_state(db, ENGINE, index_id, upto, run_id, result.indexed)
    remove_other_indexes(index_dir, index_id)
    return result


def _update(store, ix: KeywordIndex, state: dict, progress: Progress | None) -> SyncResult:
    import tantivy as T

    db = store.db
    done, last_run = state["done_id"], state["last_run_id"]
    upto, run_id = storage.max_message_id(db), storage.settled_run_id(db)
    result = SyncResult(done_id=done)
    if upto <= done and run_id <= last_run:
        return result
    writer = ix.writer()
    schema = ix.schema
    # Documents past the watermark come from a sync that died before recording it.
    writer.delete_documents_by_query(
        T.Query.range_query(schema, "id", T.FieldType.Integer, done + 1, None))
    changed = set(storage.tails(db, storage.files_read_since(db, last_run))) if run_id > last_run else set()
    sessions: set[str] = set()
    tails: dict[int, int] = {}
    pending = 0
    for rows in storage.rows_after(db, done, upto):
        sessions.update(r[2] for r in rows if r[2])
        _add_rows(writer, rows, result, tails)
        pending += len(rows)
        if progress:
            progress(rows[-1][0] - done, upto - done)
        if pending >= COMMIT_EVERY:  # an interrupted catch-up keeps what it did
            _reindex(writer, schema, db, changed, sessions, done, result)
            changed, sessions, pending = set(), set(), 0
            writer.commit()
            storage.put_tails(db, tails)
            storage.put_state(db, ENGINE, state["index_id"], rows[-1][0], last_run,
                              writer_docs(ix), expect_index_id=state["index_id"])
    _reindex(writer, schema, db, changed, sessions, done, result)
    writer.commit()
    writer.wait_merging_threads()
    storage.put_tails(db, tails)
    ix.reload()
    storage.put_state(db, ENGINE, state["index_id"], upto, run_id, ix.searcher().num_docs,
                      expect_index_id=state["index_id"])
    result.done_id = upto
    return result


def writer_docs(ix: KeywordIndex) -> int:
    ix.reload()
    return ix.searcher().num_docs


def _reindex(writer, schema, db, changed: set[int], sessions: set[str], done: int,
             result: SyncResult) -> None:
    """Index again the older rows that may have changed in place (see the module doc)."""
    import tantivy as T

    ids = changed | set(storage.ids_in_sessions(db, sessions, done)) if sessions else changed
    ids = sorted(i for i in ids if i <= done)
    if not ids:
        return
    for chunk in storage._chunks(ids, 5000):
        writer.delete_documents_by_query(T.Query.term_set_query(schema, "id", chunk))
        _add_rows(writer, storage.rows_by_ids(db, chunk), result, None)


def _add_rows(writer, rows: list, result: SyncResult, tails: dict[int, int] | None) -> None:
    for row in rows:
        if tails is not None and row[4] == "debug" and row[15] is not None:
            tails[row[15]] = row[0]
        if indexable(row):
            writer.add_document(document(row))
            result.indexed += 1
        else:
            result.removed += 1


def reindex(store, index_dir: Path, ids: list[int]) -> int:
    """Index these messages again now, as they are in the store (for code that changes rows
    in place, e.g. redaction: later syncs only look again at rows they know may change)."""
    if not ids:
        return 0
    lock = IndexLock(index_dir)
    lock.acquire(blocking=True)
    try:
        ix, state = current_index(store, index_dir)
        if ix is None:
            return 0
        writer = ix.writer()
        result = SyncResult()
        _reindex(writer, ix.schema, store.db, set(ids), set(), state["done_id"], result)
        writer.commit()
        writer.wait_merging_threads()
        ix.reload()
        return result.indexed
    finally:
        lock.release()


def forget(store, index_dir: Path, ids: list[int]) -> int:
    """Remove messages from the index at once (for the code that deletes or redacts them:
    later syncs skip deleted rows by themselves, but only rows they look at again)."""
    import tantivy as T

    if not ids:
        return 0
    lock = IndexLock(index_dir)
    lock.acquire(blocking=True)
    try:
        ix, _ = current_index(store, index_dir)
        if ix is None:
            return 0
        writer = ix.writer()
        for chunk in storage._chunks(sorted(set(ids)), 5000):
            writer.delete_documents_by_query(T.Query.term_set_query(ix.schema, "id", chunk))
        writer.commit()
        with contextlib.suppress(Exception):
            writer.wait_merging_threads()
        return len(ids)
    finally:
        lock.release()
