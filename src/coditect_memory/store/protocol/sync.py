"""What sync asks of a store: a machine's link to its server (cursors, last results), the rows
and tombstones to push, and on the server the rows to serve, each row's origin, the tombstones
received and the registry of machines."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, TypedDict


class SyncState(TypedDict):
    server: str
    machine_id: str
    hostname: str
    submodule: str | None
    push_cursor: int
    pull_cursor: int
    tomb_cursor: int
    last_push_at: int | None
    last_push_result: str | None
    last_pull_at: int | None
    last_pull_result: str | None
    pending_since: int | None
    floor_seq: int  # the last id floor (sync_floor_after) this machine's pulls took into account
    levels_digest: int | None  # the privacy levels the last push judged held rows by (0021)
    mutable_digest: int | None  # the mutable records' fingerprint when none was left pending


class MachineRow(TypedDict):
    id: str
    hostname: str
    submodule: str | None
    token_name: str
    first_seen: int
    last_push_at: int | None
    last_pull_at: int | None
    rows_received: int
    rows_sent: int


class SyncStore(ABC):
    # --- a machine ---------------------------------------------------------------------
    @abstractmethod
    def sync_state(self) -> SyncState | None:
        """The link made by `memory sync init`, or None."""

    @abstractmethod
    def set_sync_state(self, **values: Any) -> None:
        """Create or update the link (SyncState keys); init gives server, machine_id, hostname."""

    @abstractmethod
    def sync_push_rows(self, after_id: int, up_to: int, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` messages with after_id < id <= up_to that did not come through sync,
        by id, as `export_messages` gives them (each session's facts on its first row here)."""

    @abstractmethod
    def sync_pending(self, after_id: int) -> int:
        """How many messages after `after_id` a push would look at (pulled rows left out)."""

    @abstractmethod
    def max_message_id(self) -> int: ...

    @abstractmethod
    def sync_floor_after(self, seq: int) -> tuple[int | None, int]:
        """(the lowest id floor recorded after `seq`, or None; the last seq): where a pull
        must start again because a forget let this store reuse ids (migration 0017)."""

    @abstractmethod
    def sync_unsent_tombstones(self, limit: int) -> list[str]:
        """Tombstoned uids the server does not have yet."""

    @abstractmethod
    def sync_tombstones_sent(self, uids: list[str]) -> None:
        """These tombstones are on the server (acknowledged, or pulled from it)."""

    @abstractmethod
    def sync_unlink(self) -> None:
        """A new server: it has none of this store's tombstones and no held row waits for it
        (the push cursor, back to 0, looks at every row again)."""

    # --- both sides ----------------------------------------------------------------------
    @abstractmethod
    def sync_mark_rows(self, uids: Iterable[str], machine_id: str, submodule: str | None) -> None:
        """Record where rows came from; a uid marked before keeps its first origin."""

    @abstractmethod
    def message_ids(self, uids: list[str]) -> list[int]:
        """The ids of the stored messages among `uids` (what the search index knows them by)."""

    # --- the server ----------------------------------------------------------------------
    @abstractmethod
    def sync_serve_rows(self, after_id: int, limit: int, machine_id: str,
                        project_ids: tuple[int, ...] | None,
                        submodules: tuple[str, ...]) -> list[dict[str, Any]]:
        """Up to `limit` messages after `after_id`, by id, that `machine_id` did not send, of
        these projects or sent from these submodules (project_ids None: all), as
        `export_messages` gives them."""

    @abstractmethod
    def sync_add_tombstones(self, uids: list[str], machine_id: str, now: int) -> list[str]:
        """Record tombstones received; returns those not recorded before."""

    @abstractmethod
    def sync_adopt_tombstones(self, machine_id: str, now: int) -> int:
        """Record as sent by `machine_id` every tombstone of this store (its own forgets) not
        recorded yet, in one statement; returns how many."""

    @abstractmethod
    def sync_tombstones_after(self, seq: int, machine_id: str, limit: int) -> list[tuple[int, str]]:
        """(seq, uid) of tombstones after `seq` that other machines sent (or the server made)."""

    @abstractmethod
    def sync_machine_seen(self, machine_id: str, hostname: str, submodule: str | None,
                          token_name: str, now: int, pushed: int | None = None,
                          pulled: int | None = None) -> None:
        """Register a machine (first seen now) or note its push (`pushed` new rows) or pull."""

    @abstractmethod
    def sync_machines(self) -> list[MachineRow]: ...
