"""`memory sync conflicts [--reapply ID] [--dismiss ID]`: local versions of mutable records
(a session's title and tags, a privacy level, a memory) that lost to the central version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import NotFound
from ..store.base import Store
from ..store.protocol.sync_mutable import Conflict, Value
from ..timeutil import iso


def label(kind: str, key: str, value: Value) -> str:
    """What the record is, for a person: the session, the level's scope, the memory's text."""
    if kind == "note":
        return f"session {key}"
    if kind == "level":
        return key.replace(":", " ", 1)
    ident = (value or {}).get("ident") or [None]
    return f"memory of {ident[0] or 'every project'}"


def shape(c: Conflict) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "key": c.key, "what": label(c.kind, c.key, c.central or c.local),
            "local": c.local, "central": c.central, "central_revision": c.revision,
            "central_machine": c.machine, "at": iso(c.at)}


@dataclass
class ConflictList:
    conflicts: list[Conflict]

    def to_json(self) -> list[dict[str, Any]]:
        return [shape(c) for c in self.conflicts]


@dataclass
class Settled:
    verb: str  # reapplied | dismissed
    conflict: Conflict

    def to_json(self) -> dict[str, Any]:
        return {self.verb: shape(self.conflict)}


def list_conflicts(store: Store) -> ConflictList:
    return ConflictList(store.mutable_conflicts())


def _missing(conflict_id: int) -> NotFound:
    return NotFound(f"no conflict {conflict_id}: `memory sync conflicts` lists them")


def reapply(store: Store, conflict_id: int) -> Settled:
    """The local version becomes the local value again; the next push makes it central."""
    c = store.reapply_conflict(conflict_id)
    if c is None:
        raise _missing(conflict_id)
    return Settled("reapplied", c)


def dismiss(store: Store, conflict_id: int) -> Settled:
    c = store.dismiss_conflict(conflict_id)
    if c is None:
        raise _missing(conflict_id)
    return Settled("dismissed", c)
