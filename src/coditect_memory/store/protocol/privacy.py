"""What privacy needs of a store: forget (tombstones, held rows, purge), privacy levels, the
texts to scan and rewrite, and the audit log's rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ForgetSelector:
    """Which messages a forget takes (every given field must hold)."""

    sessions: tuple[str, ...] = ()
    project: str | None = None  # path or name
    match: str | None = None  # a substring of the content
    before_ms: int | None = None

    def empty(self) -> bool:
        return not (self.sessions or self.project or self.match or self.before_ms is not None)


@dataclass
class ForgetPlan:
    messages: int = 0
    sessions: list[str] = field(default_factory=list)  # sessions with rows taken
    whole_sessions: list[str] = field(default_factory=list)  # sessions left with no rows


@dataclass
class Forgotten:
    forget_id: int
    messages: int
    sessions: int
    message_ids: list[int]  # for the index and vectors


@dataclass
class AuditRow:
    seq: int
    at: int
    actor: str
    action: str
    target: str | None
    reason: str | None
    detail: str | None
    prev_hash: str
    hash: str


class PrivacyStore(ABC):
    # --- forget ------------------------------------------------------------------------
    @abstractmethod
    def forget_plan(self, sel: ForgetSelector) -> ForgetPlan:
        """What a forget would take (counts only; nothing written)."""

    @abstractmethod
    def forget(self, sel: ForgetSelector, selector_json: str, reason: str | None, now: int,
               purge_at: int) -> Forgotten:
        """In one transaction: move the rows out of `messages` (and the sessions left empty
        out of `sessions`) into the held table, tombstone their uids, drop their usage,
        vectors and report rollups, and re-derive the sessions that keep rows."""

    @abstractmethod
    def purge_forgotten(self, due_before: int | None, forget_id: int | None = None) -> int:
        """Delete held rows of forgets due before `due_before` (None: all; with `forget_id`:
        that forget's only) and blobs no row uses, then `scrub()` (SQLite: secure_delete, the WAL checkpointed and truncated, so no
        copy is left in free pages or the log; PostgreSQL: VACUUM); returns the rows purged."""

    @abstractmethod
    def tombstoned(self) -> set[str]:
        """Every tombstoned uid (what ingest must not store again)."""

    @abstractmethod
    def add_tombstones(self, uids: list[str], now: int) -> int:
        """Record tombstones carried from elsewhere (a restore) and remove those rows now."""

    # --- levels ------------------------------------------------------------------------
    @abstractmethod
    def privacy_levels(self) -> list[tuple[str, str, str]]:
        """(scope, name, level) of every level set with `memory privacy set`."""

    @abstractmethod
    def set_privacy_level(self, scope: str, name: str, level: str, now: int) -> None: ...

    # --- scan / apply --------------------------------------------------------------------
    @abstractmethod
    def privacy_texts(self, after_id: int, limit: int) -> list[tuple[int, str | None, str | None, str | None]]:
        """(id, content, metadata JSON, session id) of messages after `after_id`, by id."""

    @abstractmethod
    def rewrite_texts(self, rows: list[tuple[int, str | None, str | None]]) -> None:
        """Replace content and metadata of these messages (content_hash follows)."""

    @abstractmethod
    def privacy_other_texts(self) -> Iterator[tuple[str, str, str, str]]:
        """(table, key, column, text) of the other texts derived from content: session
        titles, summaries and first prompts, error signatures, ingest error reasons."""

    @abstractmethod
    def rewrite_other_texts(self, rows: list[tuple[str, str, str, str]]) -> None:
        """Write back (table, key, column, text) rows from privacy_other_texts."""

    @abstractmethod
    def privacy_blobs(self) -> Iterator[tuple[str, bytes]]:
        """(sha256, data) of every text blob."""

    @abstractmethod
    def rewrite_blob(self, old_sha: str, data: bytes) -> None:
        """Store `data` in place of blob `old_sha` (its rows follow the new sha)."""

    @abstractmethod
    def scrub(self, vacuum: bool = False) -> None:
        """No freed bytes left: the write-ahead log folded in and truncated (and with
        `vacuum`, the whole store rewritten). PostgreSQL: VACUUM (FULL with `vacuum`) of the
        tables forget and apply write; the server's WAL is its operator's (README)."""

    # --- audit -------------------------------------------------------------------------
    @abstractmethod
    def audit_append(self, make: Any) -> AuditRow:
        """Append one entry in one transaction: `make(prev_seq, prev_hash)` returns the row
        (so the chain is extended under the write lock)."""

    @abstractmethod
    def audit_rows(self, since_ms: int | None = None, after_seq: int = 0,
                   limit: int = 10_000) -> list[AuditRow]: ...

    @abstractmethod
    def audit_anchor(self) -> tuple[int, str] | None:
        """(seq, hash) of the last entry dropped by retention, if any."""

    @abstractmethod
    def audit_drop_before(self, at_ms: int) -> int:
        """Drop entries older than `at_ms` (retention), keeping the anchor."""
