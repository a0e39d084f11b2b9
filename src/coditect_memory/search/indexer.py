"""Keep the keyword index up to date with the store, cheaply and crash-safely.

The store is the source of truth; the index follows it from a watermark (a message id) kept
in the store (`Store.index_state`). Documents are keyed by message id, so every write is an
upsert: a run killed at any point leaves at worst documents past the watermark, which the
next sync deletes (one range delete) before adding them again. Rows can also change in place:

- a debug log's last entry grows (same uid, longer text): the last indexed row of every
  file read again since the last sync is indexed again (`Store.put_tails`);
- deriving sessions fills project, tool name and history links of older rows of the
  sessions that received new rows: those sessions' older rows are indexed again;
- deleted rows (deleted_at) are removed by `forget(ids)` and skipped by every later sync.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter, ne
from pathlib import Path
from typing import IO, Any

from ..ahead import read_ahead
from ..cores import keep_to, leave_first_core
from ..errors import io_error
from ..pids import alive
from ..settings import Settings
from ..store.base import Store
from ..store.protocol.search import IndexRow, IndexState
from .cache import SearchCache
from .index import (
    KeywordIndex,
    current_version,
    document,
    index_path,
    indexable,
    new_index_id,
    remove_other_indexes,
    segment_deletes,
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
        self.f: IO[str] | None = None

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


def current_index(store: Store, index_dir: Path,
                  cache: SearchCache) -> tuple[KeywordIndex | None, IndexState | None]:
    """The index the store's state names, if it exists on disk."""
    state = store.index_state(ENGINE)
    if not state or not state["index_id"] or not current_version(state["index_id"]):
        return None, state
    return cache.keyword_index(index_path(index_dir, state["index_id"])), state


def behind(store: Store, state: IndexState | None) -> bool:
    """Cheap (three indexed lookups): does the store hold rows or runs the index has not
    seen, or file versions it has not indexed yet (`_catch_up_files`)?"""
    if state is None:
        return True
    return (store.max_message_id() > state["done_id"] or store.settled_run_id() > state["last_run_id"]
            or files_behind(store, state))


def files_engine(index_id: str | None) -> str:
    """The state row saying that this index has every file version up to its `done_id`."""
    return f"keyword-files:{index_id}"


def files_behind(store: Store, state: IndexState) -> bool:
    return store.index_state(files_engine(state["index_id"])) is None


def ingest_running(store: Store) -> bool:
    """An ingest of this machine is writing now (its run is open and its process alive)."""
    return any(pid and pid != os.getpid() and alive(pid) for pid in store.running_ingest_pids())


def sync(store: Store, index_dir: Path, cache: SearchCache, rebuild: bool = False,
         progress: Progress | None = None, wait: bool = False) -> SyncResult:
    """Bring the index up to date (or rebuild it). Without `wait`, returns at once with
    `skipped` set when another process is updating it."""
    t0 = time.perf_counter()
    lock = IndexLock(index_dir)
    if not lock.acquire(blocking=wait or rebuild):
        return SyncResult(skipped="another process is updating the index")
    try:
        ix, state = current_index(store, index_dir, cache)
        if rebuild or ix is None or state is None:
            result = _build(store, index_dir, progress)
        else:
            result = _update(store, ix, state, progress)
    except (OSError, ValueError) as e:  # Tantivy's "No space left on device (os error 28)"
        mine = io_error(e, f"updating the search index in {index_dir}", index_dir)
        if mine is None:
            raise
        raise mine from e
    finally:
        lock.release()
    result.seconds = time.perf_counter() - t0
    return result


def _build(store: Store, index_dir: Path, progress: Progress | None) -> SyncResult:
    upto, run_id = store.max_message_id(), store.settled_run_id()
    index_id = new_index_id()
    ix = KeywordIndex(index_path(index_dir, index_id), create=True)
    result = SyncResult(rebuilt=True, done_id=upto)
    writer = ix.writer()
    tails: dict[int, int] = {}
    for rows in store.rows_to_index(0, upto, lean=True):
        _add_rows(writer, rows, result, tails)
        if progress:
            progress(rows[-1].id, upto)
    writer.commit()
    writer.wait_merging_threads()
    _record(store, index_id, upto, run_id, result.indexed, tails, new_in=index_dir)
    return result


def _record(store: Store, index_id: str | None, upto: int, run_id: int, docs: int,
            tails: dict[int, int], new_in: Path | None = None) -> None:
    """After a commit: the debug files' tails and the watermark. A new index (`new_in`: its
    folder) becomes the current one, its file versions included, and the others go."""
    store.put_tails(tails, replace=new_in is not None)
    if new_in is None:
        store.put_index_state(ENGINE, index_id, upto, run_id, docs, expect_index_id=index_id)
        return
    store.put_index_state(ENGINE, index_id, upto, run_id, docs)
    store.put_index_state(files_engine(index_id), index_id, upto, run_id, 0)
    store.drop_index_states(files_engine(""), keep=files_engine(index_id))  # the old indexes'
    remove_other_indexes(new_in, index_id)


def _drop_unrecorded(writer: Any, ix: KeywordIndex, done: int) -> None:
    """Delete the documents past the watermark: they come from a sync that died before
    recording it, and are added again from the store."""
    import tantivy as T

    writer.delete_documents_by_query(
        T.Query.range_query(ix.schema, "id", T.FieldType.Integer, done + 1, None))


def _update(store: Store, ix: KeywordIndex, state: IndexState,
            progress: Progress | None) -> SyncResult:

    done, last_run, index_id = state["done_id"], state["last_run_id"], state["index_id"]
    upto, run_id = store.max_message_id(), store.settled_run_id()
    result = SyncResult(done_id=done)
    if files_behind(store, state):
        _catch_up_files(store, ix, state, result, progress)
    if upto <= done and run_id <= last_run:
        return result
    writer = ix.writer()
    _drop_unrecorded(writer, ix, done)
    changed = set(store.tail_message_ids(store.files_read_since(last_run))) if run_id > last_run else set()
    sessions: set[str] = set()
    tails: dict[int, int] = {}
    pending = 0
    for rows in store.rows_to_index(done, upto, lean=True):
        sessions.update(r.session_id for r in rows if r.session_id)
        _add_rows(writer, rows, result, tails)
        pending += len(rows)
        if progress:
            progress(rows[-1].id - done, upto - done)
        if pending >= COMMIT_EVERY:  # an interrupted catch-up keeps what it did
            _reindex(store, writer, ix, changed, sessions, done, result)
            changed, sessions, pending = set(), set(), 0
            writer.commit()
            _record(store, index_id, rows[-1].id, last_run, writer_docs(ix), tails)
    _reindex(store, writer, ix, changed, sessions, done, result)
    writer.commit()
    writer.wait_merging_threads()
    _record(store, index_id, upto, run_id, writer_docs(ix), tails)
    result.done_id = upto
    return result


def _catch_up_files(store: Store, ix: KeywordIndex, state: IndexState, result: SyncResult,
                    progress: Progress | None) -> None:
    """File versions became searchable after indexes were built without them (their text is
    a blob the index did not read): add those up to the watermark once, with progress, then
    record it (a run killed before that does it again: documents are keyed by id)."""
    done, index_id = state["done_id"], state["index_id"]
    ids = store.file_version_ids(0, done)
    if ids:
        writer = ix.writer()
        for i in range(0, len(ids), 5000):
            _reindex(store, writer, ix, set(ids[i:i + 5000]), set(), done, result)
            if progress:
                progress(min(i + 5000, len(ids)), len(ids))
        writer.commit()
        writer.wait_merging_threads()
        store.put_index_state(ENGINE, index_id, done, state["last_run_id"], writer_docs(ix),
                              expect_index_id=index_id)
    store.put_index_state(files_engine(index_id), index_id, done, state["last_run_id"], len(ids))


def writer_docs(ix: KeywordIndex) -> int:
    ix.reload()
    return int(ix.searcher().num_docs)


def _chunks(ids: list[int], size: int = 5000) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _runs(ids: list[int], gap: int = 512) -> Iterator[tuple[int, int]]:
    """(first, last) of the runs of sorted `ids` with no hole wider than `gap`."""
    start = prev = ids[0] if ids else 0
    for i in ids[1:]:
        if i - prev > gap:
            yield start, prev
            start = i
        prev = i
    if ids:
        yield start, prev


def _reindex(store: Store, writer: Any, ix: KeywordIndex, changed: set[int], sessions: set[str],
             done: int, result: SyncResult) -> None:
    """Index again the older rows that may have changed in place (see the module doc)."""
    import tantivy as T

    ids = changed | set(store.message_ids_in_sessions(sessions, done)) if sessions else changed
    todo = sorted(i for i in ids if i <= done)
    for chunk in _chunks(todo):
        writer.delete_documents_by_query(T.Query.term_set_query(ix.schema, "id", chunk))
        _add_rows(writer, store.rows_by_ids(chunk, lean=True), result, None)


def _add_rows(writer: Any, rows: list[IndexRow], result: SyncResult,
              tails: dict[int, int] | None) -> None:
    for row in rows:
        if tails is not None and row.source_kind == "debug" and row.source_file_id is not None:
            tails[row.source_file_id] = row.id
        if indexable(row):
            writer.add_document(document(row))
            result.indexed += 1
        else:
            result.removed += 1


@contextlib.contextmanager
def _locked(store: Store, index_dir: Path,
            cache: SearchCache) -> Iterator[tuple[KeywordIndex | None, IndexState | None]]:
    """The current index, with the index lock held (waiting for it)."""
    lock = IndexLock(index_dir)
    lock.acquire(blocking=True)
    try:
        yield current_index(store, index_dir, cache)
    finally:
        lock.release()


def reindex(store: Store, index_dir: Path, ids: list[int], cache: SearchCache | None = None) -> int:
    """Index these messages again now, as they are in the store (for code that changes rows
    in place, e.g. redaction: later syncs only look again at rows they know may change)."""
    if not ids:
        return 0
    with _locked(store, index_dir, cache or SearchCache()) as (ix, state):
        if ix is None or state is None:
            return 0
        writer = ix.writer()
        result = SyncResult()
        _reindex(store, writer, ix, set(ids), set(), state["done_id"], result)
        writer.commit()
        writer.wait_merging_threads()
        ix.reload()
        return result.indexed


def forget(store: Store, index_dir: Path, ids: list[int], cache: SearchCache | None = None) -> int:
    """Remove messages from the index at once (for the code that deletes or redacts them:
    later syncs skip deleted rows by themselves, but only rows they look at again)."""
    return forget_noted(store, index_dir, ids, cache)[0]


def forget_noted(store: Store, index_dir: Path, ids: list[int],
                 cache: SearchCache | None = None) -> tuple[int, set[str] | None]:
    """`forget`, and the segments that held those documents (None: not told apart), for an
    `expunge(only=...)` of just them."""
    import tantivy as T

    if not ids:
        return 0, set()
    with _locked(store, index_dir, cache or SearchCache()) as (ix, state):
        if ix is None:
            return 0, set()
        held = None
        if state is not None and state["index_id"]:
            held = _note_segments(ix, index_dir, state["index_id"], ids)
        writer = ix.writer()
        for chunk in _chunks(sorted(set(ids))):
            writer.delete_documents_by_query(T.Query.term_set_query(ix.schema, "id", chunk))
        writer.commit()
        with contextlib.suppress(Exception):
            writer.wait_merging_threads()
        return len(ids), held


NOTES = "expunge.json"  # in the index folder: the segments a hard forget must rewrite


def _note_segments(ix: KeywordIndex, index_dir: Path, index_id: str,
                   ids: list[int]) -> set[str] | None:
    """Before their documents are deleted, note the segments that hold them: `expunge` then
    rewrites only those, not every segment with deletes (ingest's re-indexing of growing
    sessions leaves deletes in most segments). Segments not told apart: noted as "all".
    Returns the segments holding these documents (None: not told apart)."""
    import tantivy as T

    ix.reload()
    searcher = ix.searcher()
    segments = segment_deletes(ix.path)
    noted = _noted(index_dir, index_id)
    if segments is None or len(segments) != searcher.num_segments:
        _write_notes(index_dir, index_id, None)
        return None
    held: set[str] = set()
    live = 0
    for chunk in _chunks(sorted(set(ids))):
        hits = searcher.search(T.Query.term_set_query(ix.schema, "id", chunk), limit=len(chunk),
                               count=False).hits
        held |= {segments[a.segment_ord][0] for _, a in hits}
        live += len(hits)
    # a document indexed again (a session that grew) left its older copy, deleted, in an
    # older segment: doc_freq counts those copies too, but not where they are
    if sum(searcher.doc_freq("id", i) for i in set(ids)) > live:
        _write_notes(index_dir, index_id, None)
        return None
    _write_notes(index_dir, index_id, None if noted is None else noted | held)
    return held


def _write_notes(index_dir: Path, index_id: str, segments: set[str] | None) -> None:
    tmp = index_dir / f"{NOTES}.tmp"
    tmp.write_text(json.dumps({"index_id": index_id,
                               "segments": None if segments is None else sorted(segments)}))
    tmp.replace(index_dir / NOTES)


def _noted(index_dir: Path, index_id: str) -> set[str] | None:
    """The segments noted for this index (empty when none); None: every segment with deletes
    (the notes are unreadable, say "all", or a forget came before notes were kept)."""
    try:
        notes = json.loads((index_dir / NOTES).read_text())
    except FileNotFoundError:
        return set()
    except (OSError, ValueError):
        return None
    if not isinstance(notes, dict) or notes.get("index_id") != index_id:
        return set()
    segments = notes.get("segments")
    return None if segments is None else {str(s) for s in segments}


def expunge(store: Store, index_dir: Path, cache: SearchCache | None = None,
            only: set[str] | None = None) -> int | None:
    """Leave no deleted document's terms on disk (a hard forget): Tantivy keeps them until
    their segment is merged, and tantivy-py cannot ask for a merge. So the live documents of
    the segments noted as holding forgotten ones (`_note_segments`; with `only`, those of
    them: one forget's) are indexed again from the store; those segments are then empty,
    dropped at commit and their files removed. Returns the documents indexed again, or None
    when the segments cannot be told apart (the caller rebuilds)."""
    import tantivy as T

    with _locked(store, index_dir, cache or SearchCache()) as (ix, state):
        if ix is None or state is None:
            return 0
        ix.reload()
        searcher = ix.searcher()
        segments = segment_deletes(ix.path)
        if segments is None or len(segments) != searcher.num_segments:
            return None
        index_id = state["index_id"] or ""
        noted = _noted(index_dir, index_id)
        take = noted if only is None else only
        dirty = {i for i, (sid, _, deleted) in enumerate(segments)
                 if deleted and (take is None or sid in take)}
        left = set() if take is None else None if noted is None else noted - take
        if not dirty:
            _write_notes(index_dir, index_id, left)
            return 0
        addrs = [a for _, a in searcher.search(T.Query.all_query(), limit=max(searcher.num_docs, 1),
                                                count=False).hits]
        live = [0] * len(segments)
        for a in addrs:
            live[a.segment_ord] += 1
        if live != [docs - deleted for _, docs, deleted in segments]:
            return None  # meta.json and the searcher disagree: do not guess
        ids = sorted(searcher.fast_field_values("id", [a for a in addrs if a.segment_ord in dirty]))
        writer = ix.writer()
        result = SyncResult()
        for chunk in _chunks(ids):
            writer.delete_documents_by_query(T.Query.term_set_query(ix.schema, "id", chunk))
        for rows in _rows_ahead(store, ids):
            _add_rows(writer, rows, result, None)
        writer.commit()
        writer.garbage_collect_files()
        writer.wait_merging_threads()
        ix.reload()
        _write_notes(index_dir, index_id, left)
        return len(ids)


def _rows_ahead(store: Store, ids: list[int]) -> Iterator[list[IndexRow]]:
    """The store's rows of these sorted ids, in batches, read by a second thread while the
    caller indexes the batch before (a segment holds runs of ids: they are read in order)."""
    wanted = set(ids)
    batches = ([r for r in rows if r.id in wanted]
               for lo, hi in _runs(ids) for rows in store.rows_to_index(lo - 1, hi, lean=True))
    return read_ahead(batches, 4, name="expunge-reader")


# --- the index built alongside an ingest -----------------------------------------------

FOLLOW_POLL = 0.5  # seconds between looks at the store for newly committed rows


class Follower:
    """The keyword index built by a second process while an ingest reads and writes, so both
    cores work (benchmarks/RESULTS.md). That process indexes rows as soon as they are
    committed; the run's session derivation may then change some of them (project, session,
    tool name, history link), so at `finish` it reads those columns back, indexes again only
    the rows whose values changed, and records the watermark as `sync` does. Nothing is
    committed to the index before then: a run that fails or is killed leaves the index as it
    was, and the process ends with its parent (its stdin closes), so the next `sync` catches
    up as after any interrupted update."""

    def __init__(self, proc: Any) -> None:
        self.proc = proc

    @classmethod
    def start(cls, settings: Settings) -> Follower | None:
        """The process, started; None where it cannot run (no POSIX pipes to poll)."""
        import pickle
        import subprocess
        import sys

        if os.name != "posix":
            return None
        src = str(Path(__file__).resolve().parents[2])  # this code, whatever sys.path says
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (src, os.environ.get("PYTHONPATH")) if p)}
        try:
            data = pickle.dumps(settings)
            proc = subprocess.Popen(
                [sys.executable, "-c", "from coditect_memory.search.indexer import follow_main;"
                 " follow_main()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=env)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            return None  # the index is built after the run, in this process, as before
        follower = cls(proc)
        try:
            assert proc.stdin is not None
            proc.stdin.write(len(data).to_bytes(8, "big") + data)
            proc.stdin.flush()
        except OSError:
            follower.stop()
            return None
        return follower

    def run_done(self) -> None:
        """The run is stored and derived: it brings the index up to date and records it (the
        caller may do other work meanwhile, then ask for the `result`)."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write(b"F")
            self.proc.stdin.close()

    def result(self) -> dict[str, Any] | None:
        """What it did (SyncResult.as_dict()), once done; None when it did not (another
        process held the index, or it failed): `sync` then does the work as usual."""
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.wait()
        try:
            result = json.loads(out)
        except ValueError:
            return None
        return result if isinstance(result, dict) and "indexed" in result else None

    def stop(self) -> None:
        """The run failed: end the process without recording anything."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - it must not outlive the run
            self.proc.kill()
            self.proc.wait()


class _Ended(Exception):
    """The ingest process is gone (its end of the pipe closed) or the run failed."""


def _read_exactly(fd: int, n: int) -> bytes:
    out = b""
    while len(out) < n:
        block = os.read(fd, n - len(out))
        if not block:
            raise _Ended
        out += block
    return out


def follow_main() -> None:
    """The follower process: settings from stdin, then b"F" when the run is done (EOF: it
    ended otherwise); prints its SyncResult as JSON."""
    import pickle
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the ingest's: it closes our stdin
    out: dict[str, Any] | None = None
    try:
        settings = pickle.loads(_read_exactly(0, int.from_bytes(_read_exactly(0, 8), "big")))
        nice = _lower_priority(settings.search.alongside_nice)
        out = _follow(settings)
        if out is not None:
            out["nice"] = nice
    except _Ended:
        out = None
    except Exception as e:  # noqa: BLE001 - reported to the parent, which falls back to sync
        out = {"error": f"{type(e).__name__}: {e}"}
    if out is not None:  # what it cost, for benchmarks/bench_ingest.py
        import resource

        use = resource.getrusage(resource.RUSAGE_SELF)
        out.update(cpu_seconds=round(use.ru_utime + use.ru_stime, 2), peak_rss=use.ru_maxrss * 1024)
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()


def _lower_priority(by: int) -> int | None:
    """Run `by` nicer than the ingest (its niceness now; None where there is none). On two
    cores the ingest's process, the writer and this one share them through the read phase
    and the ingest's is the critical path: nicer, this one takes what the writer leaves and
    catches up while the run derives sessions and extracts memories on one core (indexing
    late costs nothing: `finish` reads the rows as derivation left them)."""
    try:
        return os.nice(by)
    except (OSError, AttributeError):
        return None


def _follow(settings: Settings) -> dict[str, Any] | None:
    from ..store import open_store

    index_dir = settings.search.index_dir
    lock = IndexLock(index_dir)
    if not lock.acquire(blocking=False):
        return None  # another process is updating it: `sync` waits for it after the run
    try:
        with open_store(settings, create=False) as store:
            store.small_cache()
            follow = _Follow.begin(store, index_dir)
            if follow is None:
                return None
            cores = leave_first_core()  # to the ingest's process while it reads: cores.py
            while not _told_to_finish(FOLLOW_POLL):
                follow.follow(store.max_message_id())
            keep_to(cores)  # the run is over: nothing else to make room for
            return follow.finish().as_dict()
    finally:
        lock.release()


def _told_to_finish(timeout: float) -> bool:
    """Whether the ingest said it is done; _Ended when it is gone."""
    import select

    ready, _, _ = select.select([0], [], [], timeout)
    if not ready:
        return False
    if os.read(0, 1) != b"F":
        raise _Ended
    return True


def _mark(has_session: bool, project_id: Any, tool_name: Any, linked_uid: Any, deleted_at: Any) -> int:
    """The columns derivation may change, as one number (never 0: 0 is "not indexed"); as
    store.derived_columns gives them (of the session, whether there is one: True hashes as 1)."""
    return hash((has_session, project_id, tool_name, linked_uid, deleted_at)) or 1


# store.derived_columns' rows: (id, has_session, project_id, tool_name, linked_uid, deleted_at)
_DERIVED = itemgetter(slice(1, None))
# Rows the follower leaves to `finish`: a file version's path may be named by a later
# transcript line, and derivation links most history lines to the transcript prompt they copy
# (50,200 of 50,972 at 1M), which then have no document: indexed then deleted, they were two
# thirds of the rows the finish indexed again.
_AT_FINISH = frozenset({"file_history", "history"})


def _needs_work(row: tuple[Any, ...], was: int) -> bool:
    """A derived row whose mark changed: it has a document to replace (`was` indexed), or
    should have one (not linked, not deleted)."""
    return bool(was) or (row[4] is None and row[5] is None)


@dataclass
class _Follow:
    store: Store
    ix: KeywordIndex
    index_dir: Path
    index_id: str
    state: IndexState | None  # None: a new index
    writer: Any
    result: SyncResult
    base: int  # rows past this id are this run's

    def __post_init__(self) -> None:
        self.followed = self.base  # indexed up to this id
        self.marks = array("q")  # per id past `base`: its _mark when indexed (0: not indexed)
        self.tails: dict[int, int] = {}
        self.projects: dict[str, int] = {}  # sessions' projects, once known

    @classmethod
    def begin(cls, store: Store, index_dir: Path) -> _Follow | None:
        """Open (or start) the index and its writer; None when the index is not in a state to
        follow (its file versions not caught up yet: `sync` does that first)."""

        ix, state = current_index(store, index_dir, SearchCache())
        if ix is None or state is None:
            index_id = new_index_id()
            ix, state, base = KeywordIndex(index_path(index_dir, index_id), create=True), None, 0
        elif files_behind(store, state):
            return None
        else:
            index_id, base = state["index_id"] or "", state["done_id"]
        writer = ix.writer()
        if state is not None:
            _drop_unrecorded(writer, ix, base)
        return cls(store, ix, index_dir, index_id, state, writer,
                   SyncResult(rebuilt=state is None, done_id=base), base)

    def follow(self, upto: int) -> None:
        """Index the rows committed up to `upto` (file versions at `finish`: their texts are
        not read here)."""
        for rows in self.store.rows_to_index(self.followed, upto, lean=True, file_texts=False):
            marks, base = self.marks, self.base
            marks.frombytes(bytes(8 * (rows[-1].id - base - len(marks))))
            now = []
            projects = self._projects(rows)
            for r in rows:
                if r.source_kind in _AT_FINISH:
                    continue
                p = projects.get(r.session_id) if r.session_id else None
                if p is not None and p != r.project_id:  # as derivation will settle it
                    r = r._replace(project_id=p)
                marks[r.id - base - 1] = _mark(r.session_id is not None, r.project_id,
                                               r.tool_name, r.linked_uid, r.deleted_at)
                now.append(r)
            _add_rows(self.writer, now, self.result, self.tails)
            self.followed = rows[-1].id

    def _projects(self, rows: list[IndexRow]) -> dict[str, int]:
        """The projects of these rows' sessions: derivation gives every message of a session
        the session's (its first working directory), so rows are indexed with it at once."""
        new = {r.session_id for r in rows if r.session_id and r.session_id not in self.projects}
        if new:
            self.projects.update((s, p) for s, p in self.store.session_project_ids(new).items()
                                 if p is not None)
        return self.projects

    def finish(self) -> SyncResult:
        """After the run: the last rows, again the rows derivation changed, the older rows
        of this run's sessions (as `_update`), then commit and record the watermark."""
        store, writer, ix, base = self.store, self.writer, self.ix, self.base
        upto, run_id = store.max_message_id(), store.settled_run_id()
        self.follow(upto)
        again: list[int] = []
        marks = self.marks
        for rows in store.derived_columns(base, self.followed):
            # changed since indexed, or not indexed (_AT_FINISH, a late commit); each row's
            # _mark made in C (1.8M rows at 1M messages: the finish is the run's end), but
            # for its `or 1`: a row whose hash is 0 is indexed again, which does no harm
            now = map(hash, map(_DERIVED, rows))
            lo, n = rows[0][0] - base - 1, len(rows)
            if rows[-1][0] - rows[0][0] + 1 == n:  # no gap: one slice of the marks
                was = marks[lo:lo + n]
                again += [r[0] for r, w in compress(zip(rows, was, strict=True), map(ne, was, now))
                          if _needs_work(r, w)]
                marks[lo:lo + n] = array("q", bytes(8 * n))
            else:
                for r, mark in zip(rows, now, strict=True):
                    w = marks[r[0] - base - 1]
                    if w != mark and _needs_work(r, w):
                        again.append(r[0])
                    marks[r[0] - base - 1] = 0
        again += [base + 1 + i for i, m in enumerate(marks) if m]  # rows gone since
        _reindex(store, writer, ix, set(again), set(), upto, self.result)
        state = self.state
        if state is not None:
            last_run = state["last_run_id"]
            changed = (set(store.tail_message_ids(store.files_read_since(last_run)))
                       if run_id > last_run else set())
            sessions = store.sessions_between(base, self.followed)
            _reindex(store, writer, ix, changed, sessions, base, self.result)
        writer.commit()
        writer.wait_merging_threads()
        _record(store, self.index_id, upto, run_id, writer_docs(ix), self.tails,
                new_in=self.index_dir if state is None else None)
        self.result.done_id = upto
        return self.result
