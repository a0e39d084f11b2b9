"""What the read commands ask: status, runs, sessions, messages, files, integrity.

Results are TypedDicts: they are the `--json` shapes of docs/json-and-exit-codes.md as they
are printed, and a second backend must return the same keys. Times are ISO 8601 text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypedDict

from ...errors import UsageError


class AmbiguousSession(UsageError):
    """A session prefix matches several sessions: the message lists them (newest first) so
    the person can pick one; a usage error (exit 2), as git does for a short hash."""

    SHOWN = 10

    def __init__(self, prefix: str, matches: list[Session], total: int) -> None:
        self.matches = matches
        lines = [f"session {prefix!r} is ambiguous: {total} sessions start with it; "
                 "give more characters of one of these:"]
        lines += [f"  {m['session_id']}  {(m['started_at'] or '—')[:16].replace('T', ' ')}  "
                  f"{' '.join((m['title'] or '').split())[:70]}" for m in matches]
        if total > len(matches):
            lines.append(f"  … and {total - len(matches)} more")
        super().__init__("\n".join(lines))


class StoreInfo(TypedDict):
    kind: str  # "sqlite", later "postgresql"
    # Where the store is: the default store relative to MEMORY_HOME ("memory.db"), so a
    # restored copy in another home reports an equal status; else as configured (a file,
    # later a URL without its password).
    path: str
    schema_version: int
    server_version: str | None  # the database engine's version (SQLite's library, or the server's)


class Tokens(TypedDict):
    input: int
    output: int
    cache_read: int
    cache_write: int


class KindFiles(TypedDict):
    files: int
    bytes: int


class LastRun(TypedDict):
    run_id: int
    status: str
    started_at: str | None
    finished_at: str | None


class Status(TypedDict):
    messages: int
    sessions: int
    projects: int
    by_source: dict[str, int]
    api_responses: int
    tokens: Tokens
    first_message: str | None
    last_message: str | None
    files: dict[str, KindFiles]
    unknown_files: list[str]
    missing_files: int
    partial_files: int
    files_with_errors: int
    runs: int
    last_run: LastRun | None
    schema_version: int
    store: StoreInfo


class RunCounts(TypedDict):
    """What an ingest run read and stored (an extraction_runs row's figures)."""

    files_seen: int
    files_changed: int
    files_unknown: int
    bytes_read: int
    messages_read: int
    messages_new: int
    duplicates: int
    errors: int


class Run(RunCounts):
    run_id: int
    started_at: str | None
    finished_at: str | None
    status: str  # running, completed, failed, interrupted
    root: str
    format: str
    pid: int | None
    manifest_sha256: str | None
    message: str | None


class RunError(TypedDict):
    path: str | None
    line: int | None
    byte_offset: int | None
    severity: str  # error, warning
    reason: str


class RunFile(TypedDict):
    path: str
    kind: str
    action: str  # new, appended, rewritten
    sha256: str | None
    size: int | None
    bytes_read: int
    messages_read: int
    messages_new: int
    errors: int


class Session(TypedDict):
    session_id: str
    project: str | None
    project_name: str | None
    title: str | None
    summary: str | None
    first_prompt: str | None
    started_at: str | None
    ended_at: str | None
    git_branch: str | None
    version: str | None
    model: str | None
    slug: str | None
    message_count: int
    prompt_count: int
    tool_call_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    parent_session_id: str | None


class Message(TypedDict):
    """One message of a session as `show session` prints it (content from its blob if any)."""

    uid: str
    type: str
    role: str | None
    content: str | None
    timestamp: str | None
    source_kind: str
    source_file: str | None
    source_line: int | None
    tool_name: str | None
    tool_use_id: str | None
    is_error: bool
    is_meta: bool
    is_sidechain: bool
    agent_id: str | None
    component: str | None
    level: str | None
    model: str | None
    linked_uid: str | None
    ext_id: str | None
    parent_ext_id: str | None
    file_path: str | None  # file versions: the path the snapshot names


class SourceFile(TypedDict):
    root: str
    path: str
    kind: str
    size: int | None
    bytes_consumed: int
    errors: int
    last_error: str | None
    partial_tail: int
    missing_since: int | None
    messages: int  # new rows first read from this file, over all runs


class ReadStore(ABC):
    # --- read side ------------------------------------------------------------------------
    @abstractmethod
    def status(self) -> Status: ...

    @abstractmethod
    def runs(self, limit: int = 20) -> list[Run]:
        """The newest `limit` runs, newest first."""

    @abstractmethod
    def run_errors(self, run_id: int, limit: int = 50) -> list[RunError]:
        """The bad records of one run, in the order they were met."""

    @abstractmethod
    def run_files(self, run_id: int) -> list[RunFile]:
        """What one run read from each file it opened (the audit trail of a run)."""

    @abstractmethod
    def sessions(self, project: str | None = None, limit: int = 50) -> list[Session]:
        """Newest first; `project` is a project's path or name."""

    @abstractmethod
    def session(self, session_id: str) -> Session | None:
        """One session by id or by a unique prefix of it; `AmbiguousSession` when several
        sessions start with the prefix."""

    @abstractmethod
    def session_messages(self, session_id: str) -> list[Message]:
        """Every stored message of the session in conversation order."""

    @abstractmethod
    def files(self, kinds: tuple[str, ...] | None = None) -> list[SourceFile]:
        """The manifest: every file of every ingested root (of these kinds)."""

    @abstractmethod
    def check(self) -> list[str]:
        """Integrity problems of the store itself, each a sentence; empty when healthy."""

