"""The Store interface: what ingest writes and what every reader of the store may ask.

Dialect-specific SQL lives in the backends (sqlite/, later postgres/); nothing above this
layer builds SQL. Each method is one transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ..sources.base import Record, Usage


class DeltaUnavailable(Exception):
    """An incremental backup cannot be built on this parent; the message says why (the
    caller makes a full backup instead)."""


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
    errors: list[tuple[str, int | None, int | None, str, str]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_backups: list[tuple[str, str, str]] = field(default_factory=list)
    files: list[FileUpdate] = field(default_factory=list)
    new_by_file: dict[int, int] = field(default_factory=dict)  # filled by write_batch

    def __len__(self) -> int:
        return len(self.records)


class Store(ABC):
    # --- ingest (write side) -------------------------------------------------------------
    @abstractmethod
    def begin_run(self, root: str, fmt: str) -> int: ...

    @abstractmethod
    def finish_run(self, run_id: int, stats: dict[str, Any], status: str,
                   message: str | None = None) -> None: ...

    @abstractmethod
    def manifest(self, root: str) -> dict[str, FileState]: ...

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
    def record_errors(self, run_id: int, errors: list[tuple[str, int | None, int | None, str, str]]) -> None: ...

    @abstractmethod
    def derive_sessions(self) -> int:
        """Recompute counts, titles, links of sessions touched since the last derive."""

    # --- read side ------------------------------------------------------------------------
    @abstractmethod
    def status(self) -> dict[str, Any]: ...

    @abstractmethod
    def runs(self, limit: int = 20) -> list[dict[str, Any]]: ...

    @abstractmethod
    def run_errors(self, run_id: int, limit: int = 50) -> list[dict[str, Any]]: ...

    @abstractmethod
    def sessions(self, project: str | None = None, limit: int = 50) -> list[dict[str, Any]]: ...

    @abstractmethod
    def session(self, session_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def session_messages(self, session_id: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def files(self, kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def check(self) -> list[str]:
        """Integrity problems of the store itself, each a sentence; empty when healthy."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reports (issue 3) --------------------------------------------------------------------
    def report_rows(self, query: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows of one named report query (reports/ composes them into reports).

        `filters`: since / until (epoch ms, until exclusive), project_ids, and what the
        query needs (session_id, by, all, ...). Not abstract, so a backend without reports
        still opens; it says so when asked."""
        from ..errors import UsageError

        raise UsageError(f"reports are not available on the {type(self).__name__} backend yet")

    # --- backups (issue 4) --------------------------------------------------------------------
    def backup_snapshot(self, workdir: str):
        """A consistent, frozen view of the store for `backup create`, taken while writers go
        on: `.read(offset, n)`, `.size`, `.page_size`, `.page_count`, `.method`, `.backend`,
        `.summary()` (schema version, row counts, message digest, change position), `.close()`.

        `workdir` may hold a temp copy when the backend needs one."""
        from ..errors import UsageError

        raise UsageError(f"backups are not available on the {type(self).__name__} backend yet")

    def backup_delta(self, workdir: str, parent: dict[str, Any]):
        """What changed since the backup whose manifest is `parent`, read like a snapshot
        (`.read(offset, n)`, `.size`, `.page_size`, `.page_count`, `.summary()`, `.rows`,
        `.close()`); raises DeltaUnavailable when it cannot be built on that parent."""
        raise DeltaUnavailable(f"the {type(self).__name__} backend makes full backups only")

    def export_messages(self, project: str | None = None, since: int | None = None):
        """Every message as a plain dict (uid, source_kind, provenance, ...), oldest first,
        for `memory export`; `since` in epoch ms."""
        from ..errors import UsageError

        raise UsageError(f"export is not available on the {type(self).__name__} backend yet")
