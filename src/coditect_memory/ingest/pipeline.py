"""The ingest run: inventory, plan, read what is new, write in batches, derive, record.

Crash safety comes from two rules: a file's watermark is written in the same transaction
as its last rows, and every row is written with `ON CONFLICT(uid) DO NOTHING`. A run killed
anywhere re-reads at most the files it had not finished, and the re-read rows are
recognised as already stored.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import operator
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MemoryError_, SourceMissing, StorageIOError
from ..privacy.capture import CaptureMasker, EphemeralFilter
from ..settings import Settings
from ..sources.base import Issue, Origin, Record, dumps
from ..sources.classify import EXPORT, EXTRACTION, NOT_READ, UNKNOWN, Kind, classify, reader_for
from ..sources.read_context import ReadContext
from ..store import Batch, FileState, Store
from ..store.base import FileUpdate
from .inventory import Entry, WalkIssue, text_path, walk
from .lock import IngestLock

MAX_BATCH_BYTES = 16 << 20  # content and file versions held by one batch (with batch_size)
STORE_GROWTH = 1.65  # store bytes per source byte read (benchmarks/RESULTS.md)
EXPORT_GROWTH = 0.85  # per byte of a `memory export` file read back (it spells every column)
WAL_MARGIN = 1.5  # a first run's peak: the store and its write-ahead log


def give_back_memory() -> None:
    """Return the heap freed by the run to the OS: glibc keeps it, and the search index is
    built next in the same process (a 150k-message run: 249 MB resident before, 65 MB after;
    benchmarks/RESULTS.md). Elsewhere (no malloc_trim) this does nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """The cycle collector less often while a run reads: records are freed by their counts,
    and a collection every 700 allocations went over the batch in hand again and again
    (50,000: 1.1-1.7 s less CPU of 37 s at 150k messages, the same peak memory)."""
    old = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@dataclass
class Planned:
    entry: Entry
    kind: Kind
    file_id: int
    start_offset: int = 0
    start_line: int = 0
    hasher: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    action: str = "new"
    old_prefix: str | None = None


@dataclass
class RunStats:
    run_id: int = 0
    root: str = ""
    files_seen: int = 0
    files_changed: int = 0
    files_unknown: int = 0
    bytes_read: int = 0
    messages_read: int = 0
    messages_new: int = 0
    duplicates: int = 0
    errors: int = 0
    warnings: int = 0
    sessions_updated: int = 0
    manifest_sha256: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Progress:
    """What the pipeline tells a progress bar: planned bytes, then bytes done."""

    def start(self, total_bytes: int, files: int) -> None: ...

    def advance(self, nbytes: int, messages: int) -> None: ...

    def phase(self, text: str) -> None:
        """The work after reading (deriving, indexing, ...): what a person waits for."""

    def finish(self) -> None: ...


def _no_head() -> bytes:
    return b""


def _head(path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read(4096)
        except OSError:
            return b""
    return read


def _single(root: str, name: str) -> list[Entry | WalkIssue]:
    """The one file named on the command line: its folder is not walked (it may be $HOME)."""
    try:
        st = os.stat(os.path.join(root, name))
    except OSError as e:
        return [WalkIssue(name, f"cannot stat: {e.strerror}")]
    return [Entry(text_path(name), os.path.join(root, name), st.st_size, st.st_mtime_ns)]


_TEXT_FIELDS = ("type", "content", "session_id", "role", "component", "level", "tool_name",
                "tool_use_id", "ext_id", "parent_ext_id", "model", "agent_id")


_text_fields = operator.attrgetter(*_TEXT_FIELDS)
_TEXT_OR_NONE = frozenset({str, type(None)})


def _clean(rec: Record) -> None:
    """Text columns get text: a line with a number or a list where Claude Code writes a string
    is stored (the value as JSON text; the original stays in metadata), not a failed run."""
    u = rec.usage
    if (_TEXT_OR_NONE.issuperset(map(type, _text_fields(rec)))
            and type(rec.project) in _TEXT_OR_NONE and (rec.ts is None or type(rec.ts) is int)
            and (u is None or _TEXT_OR_NONE.issuperset((type(u.session_id), type(u.model))))):
        return  # every row Claude Code writes: one look in C, not twelve in Python
    for name in _TEXT_FIELDS:
        v = getattr(rec, name)
        if v is not None and not isinstance(v, str):
            setattr(rec, name, dumps(v))
    if rec.project is not None and not isinstance(rec.project, str):
        rec.project = None  # not a path; the original stays in metadata
    if rec.ts is not None and not isinstance(rec.ts, int):
        rec.ts = None
    u = rec.usage
    if u is not None:
        if u.session_id is not None and not isinstance(u.session_id, str):
            u.session_id = rec.session_id
        if u.model is not None and not isinstance(u.model, str):
            u.model = None


class _ReadFailed(Exception):
    """Reading one file failed as a whole (I/O error, or a reader bug)."""


def _why(e: Exception) -> str:
    """Why reading a file failed inside its reader (not the store): only this file is lost."""
    if isinstance(e, OSError):
        return f"cannot read: {e.strerror or e}"
    return (f"reader failed ({type(e).__name__}: {e}); the file is read again next run — "
            "please report this")


def check_root(root: Path, fmt: str = "claude") -> tuple[Path, str | None]:
    """The folder to walk and, for one named export file, its name; SourceMissing when there
    is nothing readable there (checked before the store is opened, so nothing is created)."""
    root = Path(os.path.abspath(root))
    only: str | None = None
    if root.is_file() and (fmt in ("extraction", "export") or root.suffix == ".jsonl"):
        only, root = root.name, root.parent  # one file: its reader is chosen by its content
    if not root.exists():
        raise SourceMissing(f"nothing to ingest at {root}: no such file or folder "
                            "(pass a path, or set CLAUDE_CONFIG_DIR)")
    if not root.is_dir():
        raise SourceMissing(f"{root} is a file; pass a .jsonl transcript, the folder that "
                            "holds it, or --format extraction for a JSONL export")
    if not os.access(root, os.R_OK | os.X_OK):
        raise SourceMissing(f"cannot read {root}: permission denied")
    return root, only


class Ingest:
    def __init__(self, store: Store, config: Settings, progress: Progress | None = None,
                 space_check: bool = True) -> None:
        self.store = store
        self.space_check = space_check
        self.config = config
        self.progress = progress or Progress()
        self.stats = RunStats()
        self.batch = Batch(run_id=0)  # replaced when the run starts
        self.batch_bytes = 0
        self.checksums: dict[str, tuple[int, str | None]] = {}  # relpath -> (size, sha256)
        self.file_new: dict[int, int] = {}  # new rows of a file written in its earlier batches
        self.origin_ids: dict[tuple[str, str], int] = {}  # an import's original files
        self.masker = CaptureMasker.from_settings(config.privacy, config.home)  # privacy/
        self.tombstones: set[str] = set()  # uids forgotten: never stored again
        self.ephemeral = EphemeralFilter.from_settings(config.privacy, store)  # not stored at all

    # --- the run ----------------------------------------------------------------------
    def run(self, root: Path, fmt: str = "claude", only: str | None = None) -> RunStats:
        """`only`: read just this file of the root (a relative path, classified as the walk
        would: the Stop hook's transcript)."""
        root, named = check_root(root, fmt)
        only = only or named
        return self._locked(text_path(str(root)), fmt, lambda: self._run(str(root), fmt, only))

    def run_records(self, key: str, fmt: str, items: Iterable[Record | Issue]) -> RunStats:
        """Records that come from no file of this machine (a sync batch): the same lock, run
        record, tombstones, masking, batches and derive as `run`, but nothing in the manifest
        for `key` (each record's own provenance, `Record.origin`, is kept)."""
        def body() -> None:
            self.batch = Batch(run_id=self.stats.run_id)
            for item in items:
                if isinstance(item, Record):
                    self._add(item, self._origin_file(item.origin) if item.origin else 0)
                else:
                    self._issue(item, key)
                if len(self.batch.records) >= self.config.ingest.batch_size or self.batch_bytes >= MAX_BATCH_BYTES:
                    self._flush()
            self._flush()
            self.stats.sessions_updated = self.store.derive_sessions()
        return self._locked(key, fmt, body)

    def _locked(self, key: str, fmt: str, body: Callable[[], None]) -> RunStats:
        """`body` as one run under the ingest lock: recorded completed, failed or interrupted."""
        started = time.monotonic()
        with IngestLock(self.config.home, self.config.ingest.lock_wait_seconds) as lock:
            run_id = self.store.begin_run(key, fmt)
            self.stats = RunStats(run_id=run_id, root=key)
            try:
                if lock.left is not None:  # a run before could not record why it failed: now
                    old_id, why = lock.left
                    self.store.finish_run(old_id, {}, "failed", f"{why} (recorded by run {run_id})")
                    lock.note_recorded()
                self.tombstones = self.store.tombstoned()
                body()
                self.stats.seconds = round(time.monotonic() - started, 3)
                self.store.finish_run(run_id, self.stats.as_dict(), "completed")
            except BaseException as e:
                status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
                why = str(e) if isinstance(e, MemoryError_) else f"{type(e).__name__}: {e}"
                if not self._safe_finish(status, why):
                    noted = lock.leave_note(run_id, why)
                    if isinstance(e, StorageIOError):  # said where it is seen: the one line
                        later = "the next run records why" if noted else "nor noted for the next run"
                        raise StorageIOError(f"{e} (run {run_id} could not be marked failed in "
                                             f"the store; {later})") from e
                raise
        return self.stats

    def _safe_finish(self, status: str, message: str) -> bool:
        """Mark the run ended; False when the store cannot be written (the original error
        matters more than this one)."""
        try:
            self.store.finish_run(self.stats.run_id, self.stats.as_dict(), status, message)
        except Exception:  # noqa: BLE001
            return False
        return True

    def _check_space(self, plan: list[Planned], growth: float) -> None:
        """Refuse a run the disk clearly cannot hold, before writing anything: the store grows
        about `growth` times the bytes read, and SQLite's WAL needs half as much again while
        the run writes (checkpointed at its end)."""
        to_read = sum(max(0, p.entry.size - p.start_offset) for p in plan)
        need = int(to_read * growth * WAL_MARGIN)
        home = self.config.home
        try:
            free = shutil.disk_usage(home).free
        except OSError:
            return  # cannot tell: the writes will say it if space runs out
        if need > free:
            raise StorageIOError(
                f"not enough free space in {home}: this run reads {_mb(to_read)}, which needs "
                f"about {_mb(need)} free (the store grows ~{growth}x its input, plus "
                f"{WAL_MARGIN}x for the write-ahead log), and {_mb(free)} is free; free some "
                "space, or run with --no-space-check")

    def _run(self, root: str, fmt: str, only: str | None) -> None:
        key = self.stats.root
        manifest = self.store.manifest(key)
        plan, listed, walk_issues = self._plan(root, fmt, only, manifest)
        if self.space_check:
            self._check_space(plan, EXPORT_GROWTH if fmt == "export" else STORE_GROWTH)
        run_id = self.stats.run_id
        if walk_issues:
            self.stats.errors += len(walk_issues)
            self.store.record_errors(run_id, [(i.relpath, None, None, "error", i.reason) for i in walk_issues])
        to_read = sum(p.entry.size - p.start_offset for p in plan)
        self.progress.start(to_read, len(plan))
        self.batch = Batch(run_id=run_id)
        if plan:
            self.store.defer_indexes()
        least = self.config.ingest.write_behind_bytes
        if plan and 0 <= least <= to_read:  # a second process costs ~0.1-0.3 s to start
            self.store.write_behind()
        try:
            with fewer_collections():
                for p in plan:
                    self._read(p)
                self._flush()
        except BaseException:
            with contextlib.suppress(Exception):  # the writer's last batch, then its exit
                self.store.written()
            raise
        new, dup = self.store.written()  # (0, 0) unless batches were written behind
        self.stats.messages_new += new
        self.stats.duplicates += dup
        self.progress.phase("building indexes")
        self.store.build_deferred_indexes()
        self.progress.phase("deriving sessions")
        digest = hashlib.sha256()
        for path in sorted(self.checksums):
            size, sha = self.checksums[path]
            digest.update(f"{path}\0{size}\0{sha}\n".encode())
        self.stats.manifest_sha256 = digest.hexdigest()
        self.store.note_files(key, listed, int(time.time() * 1000), mark_missing=only is None)
        self.store.link_plans()  # before derivation: it settles the plans' projects
        self.stats.sessions_updated = self.store.derive_sessions()
        self.store.purge_forgotten(int(time.time() * 1000))  # forgets past purge_after_days
        give_back_memory()
        self.progress.finish()

    # --- planning ---------------------------------------------------------------------
    def _plan(self, root: str, fmt: str, only: str | None, manifest: dict[str, FileState]):
        ignore = set(self.config.ingest.ignore_dirs) if fmt == "claude" else set()
        plan: list[Planned] = []
        listed: list[tuple[str, str, int, int]] = []
        issues: list[WalkIssue] = []
        items = _single(root, only) if only is not None else walk(root, ignore)
        for item in items:
            if isinstance(item, WalkIssue):
                issues.append(item)
                continue
            self.stats.files_seen += 1
            old = manifest.get(item.relpath)
            unchanged = old is not None and old.size == item.size and old.mtime_ns == item.mtime_ns
            if unchanged and old is not None and old.sha256 is not None and fmt != "export":  # read before: not opened
                listed.append((item.relpath, old.kind, item.size, item.mtime_ns))
                self.checksums[item.relpath] = (item.size, old.sha256)
                continue
            if item.relpath.endswith("/"):
                kind = NOT_READ
            elif only is not None and fmt != "claude":
                kind = EXPORT if fmt == "export" else EXTRACTION  # read, whatever its name
            elif fmt == "extraction":
                kind = EXTRACTION if item.relpath.endswith(".jsonl") else UNKNOWN
            else:
                # an unchanged file of unknown format is not opened again to look at its head
                kind = classify(item.relpath, _no_head if unchanged else _head(item.path))
            listed.append((item.relpath, kind.name, item.size, item.mtime_ns))
            if kind.reader is None:
                self.stats.files_unknown += kind is UNKNOWN
                continue
            planned = Planned(item, kind, old.id if old else 0)
            if old and old.sha256 is not None:
                planned.action = "rewritten"
                if kind.incremental and old.bytes_consumed <= item.size and old.prefix_sha256:
                    planned.start_offset = old.bytes_consumed
                    planned.start_line = old.lines_consumed
                    planned.state = dict(old.state)
                    planned.old_prefix = old.prefix_sha256
                    planned.action = "appended"
            plan.append(planned)
        ids = self.store.register_files(self.stats.root, [(p.entry.relpath, p.kind.name)
                                                          for p in plan if not p.file_id])
        for p in plan:
            p.file_id = p.file_id or ids[p.entry.relpath]
        return plan, listed, issues

    def _check_prefix(self, p: Planned) -> None:
        """Resume only if the bytes already consumed are unchanged; else read from the start."""
        h = hashlib.sha256()
        try:
            with open(p.entry.path, "rb") as f:
                left = p.start_offset
                while left > 0:
                    block = f.read(min(1 << 20, left))
                    if not block:
                        break
                    h.update(block)
                    left -= len(block)
        except OSError:
            left = 1
        if left == 0 and h.hexdigest() == p.old_prefix:
            p.hasher = h
        else:
            p.start_offset, p.start_line, p.state, p.action = 0, 0, {}, "rewritten"

    # --- reading ----------------------------------------------------------------------
    def _read(self, p: Planned) -> None:
        if p.start_offset:
            self._check_prefix(p)
        ctx = ReadContext(path=Path(p.entry.path), relpath=p.entry.relpath, size=p.entry.size,
                          config=self.config, start_offset=p.start_offset, start_line=p.start_line,
                          hasher=p.hasher, state=p.state)
        assert p.kind.reader is not None  # planned: a kind that is read
        reader = reader_for(p.kind.reader)
        self.stats.files_changed += 1
        read = errors = 0
        last_error = None
        done = p.start_offset  # bytes of the file accounted to the progress bar
        file_id, batch_size = p.file_id, self.config.ingest.batch_size
        add, advance = self._add, self.progress.advance
        items = reader(ctx)
        try:
            while True:
                try:
                    item = next(items, None)
                except Exception as e:  # noqa: BLE001 - a reader bug costs this file, not the run
                    raise _ReadFailed(_why(e)) from e
                if item is None:
                    break
                if type(item) is Record:
                    add(item, self._origin_file(item.origin) if item.origin else file_id)
                    read += 1
                    offset = item.offset
                    if offset is not None and offset > done:
                        advance(offset - done, 1)
                        done = offset
                else:
                    assert isinstance(item, Issue)
                    errors += 1
                    last_error = self._issue(item, p.entry.relpath)
                if len(self.batch.records) >= batch_size or self.batch_bytes >= MAX_BATCH_BYTES:
                    self._flush()
        except _ReadFailed as e:  # keep the old watermark: the file is tried again next run
            self._issue(Issue(str(e)), p.entry.relpath)
            self.progress.advance(max(0, p.entry.size - done), 0)
            return
        end = ctx.end
        read_bytes = max(0, end.offset - p.start_offset) if end.offset else 0
        self.stats.bytes_read += read_bytes
        self.checksums[p.entry.relpath] = (p.entry.size, end.sha256)
        self.progress.advance(max(0, p.entry.size - done), 0)
        self.batch.files.append(FileUpdate(
            file_id=file_id, kind=p.kind.name, size=p.entry.size, mtime_ns=p.entry.mtime_ns,
            sha256=end.sha256 or end.prefix_sha256, bytes_consumed=end.offset,
            lines_consumed=end.lines, prefix_sha256=end.prefix_sha256, state=end.state or ctx.state,
            partial_tail=end.partial_tail, errors=errors, last_error=last_error,
            action=p.action, bytes_read=read_bytes, messages_read=read,
            messages_new=self.file_new.pop(file_id, 0)))

    def _origin_file(self, origin: Origin) -> int:
        """The manifest id of an imported record's original file (registered once)."""
        key = (origin.root, origin.file)
        if key not in self.origin_ids:
            ids = self.store.register_files(origin.root, [(origin.file, origin.kind)])
            self.origin_ids[key] = ids[origin.file]
        return self.origin_ids[key]

    def _issue(self, issue: Issue, relpath: str) -> str:
        if issue.severity == "error":
            self.stats.errors += 1
        else:
            self.stats.warnings += 1
            self.stats.errors += 1  # the contract's `errors` counts every recorded issue
        where = f"{relpath}:{issue.line}" if issue.line else relpath
        if self.masker is not None:  # an excerpt of a bad line may hold a secret
            issue.reason = self.masker.text(issue.reason)
        self.batch.errors.append((relpath, issue.line, issue.offset, issue.severity, issue.reason))
        return f"{where}: {issue.reason}"

    def _add(self, rec: Record, file_id: int) -> None:
        if rec.uid in self.tombstones or (self.ephemeral is not None and self.ephemeral.drop(rec)):
            return
        _clean(rec)
        if self.masker is not None:
            self.masker.record(rec)
        batch = self.batch
        batch.records.append((rec, file_id))
        self.batch_bytes += len(rec.content) if rec.content else 0
        if rec.blob is not None:
            self.batch_bytes += len(rec.blob)
        if rec.usage is not None:
            batch.usage.append(rec.usage)
        sid = rec.session_id
        if sid:
            s = batch.sessions.get(sid)
            if s is None:
                s = batch.sessions[sid] = {}
            ts = rec.ts
            if ts is not None:
                if s.get("start") is None or ts < s["start"]:
                    s["start"] = ts
                if s.get("end") is None or ts > s["end"]:
                    s["end"] = ts
            if rec.project and "project" not in s:
                s["project"] = rec.project
            facts = rec.facts
            if facts:
                backups = facts.pop("backups", None)
                batch.usage.extend(facts.pop("usage", ()))  # an export's: the session's usage
                if backups:
                    batch.file_backups.extend((sid, name, path) for name, path in backups.items()
                                              if isinstance(name, str) and isinstance(path, str))
                s.update((k, v) for k, v in facts.items() if isinstance(v, str))

    def _flush(self) -> None:
        batch = self.batch
        if not (batch.records or batch.errors or batch.files):
            return
        n = len(batch.records)
        new, dup = self.store.write_batch(batch)
        done = {f.file_id for f in batch.files}
        for file_id, count in batch.new_by_file.items():  # rows of files still being read
            if file_id not in done:
                self.file_new[file_id] = self.file_new.get(file_id, 0) + count
        self.stats.messages_read += n
        self.stats.messages_new += new
        self.stats.duplicates += dup
        self.batch = Batch(run_id=batch.run_id)
        self.batch_bytes = 0
