"""`memory memories list|show|add|edit|pin|forget`, `memory related`, and extraction on
demand: the same functions behind the CLI, the MCP tools (recall, remember, related) and the
API (/memories, /patterns/search)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Forbidden, NotFound, UsageError
from ..memories.extract import IMPORTANCE, entities, norm
from ..store.base import Store
from ..store.protocol.memories import (
    MEMORY_TYPES,
    Evidence,
    Memory,
    MemoryDraft,
    MemoryFilter,
    Related,
)
from .context import resolve_project
from .submodules import EVERYTHING, Visibility

STATUSES = ("active", "archived", "forgotten", "done")
PATTERN_TYPES = ("pattern", "error_fix")  # what /patterns/search looks in


def _type(value: str | None) -> str | None:
    if value is not None and value not in MEMORY_TYPES:
        raise UsageError(f"unknown memory type {value!r}: one of {', '.join(MEMORY_TYPES)}")
    return value


@dataclass
class ListRequest:
    project: str | None = None
    types: list[str] = field(default_factory=list)
    status: str = "active"  # or "all"
    pinned: bool = False
    query: str | None = None  # words the text must hold (all of them)
    limit: int = 100
    visible_projects: tuple[int, ...] | None = None  # an API token's submodules (None: all)


@dataclass
class MemoryList:
    memories: list[Memory]

    def to_json(self) -> list[Memory]:
        return self.memories


def list_memories(store: Store, request: ListRequest) -> MemoryList:
    for t in request.types:
        _type(t)
    if request.status not in (*STATUSES, "all"):
        raise UsageError(f"unknown status {request.status!r}: {', '.join(STATUSES)} or all")
    pid = (resolve_project(store, request.project, None, visible=request.visible_projects)[0]
           if request.project else None)
    limit = max(1, min(request.limit, 10_000))
    return MemoryList(store.memories(MemoryFilter(
        project_id=pid, types=tuple(request.types), pinned_only=request.pinned,
        statuses=STATUSES if request.status == "all" else (request.status,),
        words=tuple(norm(request.query or "").split()), limit=limit,
        visible_projects=request.visible_projects)))


@dataclass
class MemoryView:
    memory: Memory
    evidence: list[Evidence]

    def to_json(self) -> dict[str, Any]:
        return {**self.memory, "evidence": self.evidence}


def show(store: Store, memory_id: int, seen: Visibility = EVERYTHING) -> MemoryView:
    m = store.memory(memory_id)
    if m is None or not seen.sees(m["project"]):  # another submodule's: as if not there
        raise NotFound(f"no memory {memory_id}: see `memory memories list`")
    return MemoryView(m, store.memory_evidence(memory_id))


@dataclass
class AddRequest:
    text: str
    type: str = "fact"
    project: str | None = None  # None: every project
    pin: bool = False
    visible_projects: tuple[int, ...] | None = None  # an API token's submodules (None: all)


def add(store: Store, request: AddRequest) -> MemoryView:
    text = " ".join(request.text.split())
    if not text:
        raise UsageError("the memory's text is empty")
    kind = _type(request.type) or "fact"
    if not request.project and request.visible_projects is not None:
        raise Forbidden("a memory of every project reaches every submodule: "
                        "a token scoped to submodules must name one of its projects")
    pid = (resolve_project(store, request.project, None, visible=request.visible_projects)[0]
           if request.project else 0)
    mid = store.add_memory(MemoryDraft(type=kind, text=text, norm=norm(text), project_id=pid,
                                       importance=max(IMPORTANCE[kind], 0.8),
                                       entities=entities(text)), pinned=request.pin)
    return show(store, mid)


@dataclass
class EditRequest:
    memory_id: int
    text: str | None = None
    type: str | None = None
    importance: float | None = None
    pinned: bool | None = None
    status: str | None = None  # forget: "forgotten"; restore: "active"


def edit(store: Store, request: EditRequest) -> MemoryView:
    if request.importance is not None and not 0 <= request.importance <= 1:
        raise UsageError("--importance must be between 0 and 1")
    if request.status is not None and request.status not in STATUSES:
        raise UsageError(f"unknown status {request.status!r}: {', '.join(STATUSES)}")
    text = " ".join(request.text.split()) if request.text is not None else None
    if text == "":
        raise UsageError("the memory's text is empty")
    if not store.update_memory(request.memory_id, text=text, norm=norm(text) if text else None,
                               type=_type(request.type), importance=request.importance,
                               pinned=request.pinned, status=request.status):
        raise NotFound(f"no memory {request.memory_id}: see `memory memories list`")
    return show(store, request.memory_id)


@dataclass
class RelatedResult:
    related: Related

    def to_json(self) -> Related:
        return self.related


def related(store: Store, entity: str, limit: int = 50) -> RelatedResult:
    if not entity.strip():
        raise UsageError("name an entity: a file, function, command, package or error")
    res = store.related(entity.strip(), limit)
    if not res["memories"]:
        raise NotFound(f"nothing is known about {entity!r}: no memory names it")
    return RelatedResult(res)
