"""What sync of mutable records asks of a store (issue 17 item 4).

A mutable record is (kind, key) -> value (a JSON object, None when absent):

- `note`: a session's title and tags (key: the session id);
- `level`: a privacy level (key: "project:<path or name>" or "session:<id>");
- `memory`: a memory a person added, edited, pinned or forgot (key: a hash of its identity,
  the project, type and normalised text it had when first synced, so two machines that
  extracted the same memory name it alike). Forgetting is a value (`deleted: true`).

The server keeps each record's central version in a log (revision, seq). Every store keeps,
per record, the central revision its local value derives from (`base`) and the local value
that gave (`synced`): a local value unlike `synced` was changed here since, and is pushed.
The rules deciding what wins are the caller's (`sync/mutable_merge.py`): they are passed in
as functions and run inside the store's transaction, so a decision and its writes are one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KINDS = ("note", "level", "memory")
Value = dict[str, Any] | None


@dataclass
class LocalRecord:
    """A mutable record as this store holds it now."""

    kind: str
    key: str
    value: Value  # the local value now
    base: int = 0  # the central revision it derives from (0: never synced)
    synced: Value = None  # the local value at `base`
    project: str | None = None  # the project path it belongs to (scopes, privacy levels)
    session: str | None = None  # notes and session levels: the session
    local_id: int | None = None  # memories: memories.id here (None: not here)

    @property
    def dirty(self) -> bool:
        return self.value != self.synced


@dataclass
class CentralRecord:
    """A central version: as the server's log holds it, or as a push or pull carries it."""

    kind: str
    key: str
    revision: int
    value: Value
    machine: str = ""
    project: str | None = None
    seq: int = 0


@dataclass
class Conflict:
    id: int
    kind: str
    key: str
    local: Value  # the losing local value
    central: Value  # the central value that won
    revision: int
    machine: str | None
    at: int  # epoch ms


# What a client does with a central version (see sync/mutable_merge.py).
SKIP, ADOPT, APPLY, CONFLICT = "skip", "adopt", "apply", "conflict"
# What a server does with a pushed value: ACCEPT (a new revision), SAME (it holds that value
# already: nothing changes), REJECT (its version wins; the answer carries it).
ACCEPT, SAME, REJECT = "accept", "same", "reject"

ClientRule = Callable[[LocalRecord | None, CentralRecord], str]
ServerRule = Callable[[CentralRecord | None, int, Value], str]


@dataclass
class Pushed:
    """A local change as a push carries it."""

    kind: str
    key: str
    base: int
    value: Value
    project: str | None = None


class SyncMutableStore(ABC):
    # --- every store -----------------------------------------------------------------
    @abstractmethod
    def mutable_records(self) -> list[LocalRecord]:
        """Every mutable record this store holds or has synced: session notes, privacy
        levels, memories a person touched (added, edited, pinned, forgotten) and any record
        with sync state, each with its current value, base and synced value."""

    @abstractmethod
    def mutable_settle(self, central: list[tuple[CentralRecord, LocalRecord | None]], rule: ClientRule,
                       cursor: int | None = None) -> dict[str, int]:
        """In one transaction, for each (central version, the pushed local record it answers;
        None for a pull): `rule(local record, central)` says what to do: SKIP; ADOPT (the state
        follows: base, central, and synced = the pushed local value, or the central one);
        APPLY (the local value becomes the central one); CONFLICT (the local value is kept as a
        conflict, then APPLY). With `cursor` (a pull), the pull position lands in the same
        transaction, and memories that waited for their project to arrive here are tried
        again first. Returns how many of each (and "unresolved": memories of a project not
        here yet)."""

    @abstractmethod
    def mutable_cursor(self) -> int:
        """The pull position in the server's log (0: from the start)."""

    @abstractmethod
    def mutable_fingerprint(self) -> tuple[int, ...]:
        """Cheap aggregates of everything `mutable_records` reads (counts, sums and maxima
        of the change times, the sessions' count, the sync state's revisions): equal
        fingerprints mean no record changed in between, so no record needs reading."""

    @abstractmethod
    def mutable_unlink(self) -> None:
        """A new server: no record is synced with it yet (every local value is pushed on base
        0; the pull cursor back to 0). Conflicts are kept."""

    # --- conflicts --------------------------------------------------------------------
    @abstractmethod
    def mutable_conflicts(self) -> list[Conflict]:
        """Oldest first."""

    @abstractmethod
    def reapply_conflict(self, conflict_id: int) -> Conflict | None:
        """Make the conflict's local value the local value again (so it is pushed, on the
        central revision it lost to) and drop the conflict; None when there is no such id."""

    @abstractmethod
    def dismiss_conflict(self, conflict_id: int) -> Conflict | None:
        """Drop the conflict; None when there is no such id."""

    # --- the server ---------------------------------------------------------------------
    @abstractmethod
    def mutable_log_push(self, pushed: list[Pushed], machine: str, rule: ServerRule,
                         now: int) -> list[tuple[str, CentralRecord]]:
        """In one transaction, first enter this store's own changes into its log (as machine
        'server'), then for each pushed value: `rule(central record or None, base, value)`;
        ACCEPT writes a new revision (and the value into this store's own tables). Returns
        (ACCEPT | SAME | REJECT, the central record after it) per pushed value."""

    @abstractmethod
    def mutable_log_fold(self, now: int) -> int:
        """Enter this store's own changes (made here: PATCH, `memory privacy set`, memory
        edits) into its log as machine 'server'; returns how many."""

    @abstractmethod
    def mutable_log_since(self, after_seq: int, limit: int, not_machine: str | None,
                          projects: frozenset[str] | None) -> tuple[list[CentralRecord], int, bool]:
        """Central records with seq > after_seq in seq order, at most `limit` scanned; those
        made by `not_machine` and (with `projects`) those of other projects left out. Returns
        them, the seq to continue from, and whether more may follow."""

    @abstractmethod
    def session_projects(self, session_ids: list[str]) -> dict[str, str | None]:
        """The project path of each of these sessions this store knows."""
