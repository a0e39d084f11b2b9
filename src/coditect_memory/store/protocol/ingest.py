"""What ingest writes: runs, the file manifest (watermarks), batches of rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ...sources.base import Record, Usage

# A bad record or an unreadable file: (path, line, byte offset, "error" | "warning", reason)
IngestError = tuple[str, int | None, int | None, str, str]


@dataclass
class FileState:
    """A source_files row: the manifest entry that makes re-ingest incremental."""

    id: int
    path: str
    kind: str
    size: int | None
    mtime_ns: int | None
    sha256: str | None
    bytes_consumed: int
    lines_consumed: int
    prefix_sha256: str | None
    state: dict[str, Any]
    partial_tail: bool
    missing_since: int | None


@dataclass
class FileUpdate:
    """The watermark of one file after it was read, written with its last batch."""

    file_id: int
    kind: str
    size: int
    mtime_ns: int
    sha256: str | None
    bytes_consumed: int
    lines_consumed: int
    prefix_sha256: str | None
    state: dict[str, Any]
    partial_tail: bool
    errors: int
    last_error: str | None
    action: str
    bytes_read: int
    messages_read: int
    messages_new: int


@dataclass
class Batch:
    """Everything one transaction writes: rows, usage, issues, session facts, watermarks."""

    run_id: int
    records: list[tuple[Record, int]] = field(default_factory=list)  # (record, source_file_id)
    usage: list[Usage] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_backups: list[tuple[str, str, str]] = field(default_factory=list)
    files: list[FileUpdate] = field(default_factory=list)
    new_by_file: dict[int, int] = field(default_factory=dict)  # filled by write_batch

    def __len__(self) -> int:
        return len(self.records)


class IngestStore(ABC):
    # --- ingest (write side) -------------------------------------------------------------
    # Each method is one transaction; on a store opened read-only each raises StoreError.
    @abstractmethod
    def begin_run(self, root: str, fmt: str) -> int:
        """Start a run (marking any run still `running` as interrupted: the caller holds the
        ingest lock); returns its id."""

    @abstractmethod
    def finish_run(self, run_id: int, stats: dict[str, Any], status: str,
                   message: str | None = None) -> None:
        """Record a run's end: its counts (RunStats keys), completed / failed / interrupted."""

    @abstractmethod
    def manifest(self, root: str) -> dict[str, FileState]:
        """The files of `root` read before, by path."""

    @abstractmethod
    def register_files(self, root: str, files: list[tuple[str, str]]) -> dict[str, int]:
        """Add (path, kind) to the manifest in one transaction; returns path -> file id."""

    @abstractmethod
    def note_files(self, root: str, seen: list[tuple[str, str, int, int]], now: int,
                   mark_missing: bool = True) -> None:
        """Record files that are listed but not read (unknown, not_read) and mark missing ones.

        `mark_missing` is False when only part of the root was looked at (one named file):
        the files not looked at have not disappeared."""

    @abstractmethod
    def write_batch(self, batch: Batch) -> tuple[int, int]:
        """Write one batch atomically; returns (new rows, rows already stored)."""

    @abstractmethod
    def record_errors(self, run_id: int, errors: list[IngestError]) -> None:
        """Bad records found outside a batch (a folder that cannot be walked)."""

    def defer_indexes(self) -> bool:
        """Before a first ingest into an empty store: drop the secondary indexes that a bulk
        load would otherwise maintain row by row, remembering them in the store so that a
        crash leaves them to be built by the next run. True when something was deferred.
        The default defers nothing."""
        return False

    def build_deferred_indexes(self) -> None:
        """Build every index `defer_indexes` dropped (idempotent; cheap when none is)."""
        return None

    @abstractmethod
    def derive_sessions(self) -> int:
        """Recompute counts, titles, links of sessions touched since the last derive."""

