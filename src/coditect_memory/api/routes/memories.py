"""Memories: list, one with its evidence, add one (write), and the search of patterns and
error fixes. The same actions as `memory memories list|show|add`."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...actions import memories as act
from ..context import Caller, cached, caller
from ..errors import ERRORS
from ..schemas import ok
from ..schemas_memory import MemoryOut, MemoryView

router = APIRouter(tags=["memory"])
Kind = Literal["decision", "preference", "fact", "error_fix", "todo", "pattern"]
Words = Annotated[str | None, Query(max_length=2000, description="words the text must hold (all)")]


@router.get("/memories", responses=ok(list[MemoryOut], ERRORS),
            summary="Memories, pinned first, then by importance (as `memory memories list`)")
def memories(request: Request, c: Annotated[Caller, Depends(caller("read"))],
             project: Annotated[str | None, Query(max_length=1000, description="a project's path or name (memories of every project come too)")] = None,
             type: Annotated[list[Kind], Query(max_length=6)] = [],  # noqa: A002, B006
             query: Words = None,
             status: Literal["active", "archived", "forgotten", "done", "all"] = "active",
             pinned: bool = False,
             limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
    req = act.ListRequest(project=project, types=list(type), status=status, pinned=pinned,
                          query=query, limit=limit, visible_projects=c.seen.project_ids)
    return cached(c, request, lambda: act.list_memories(c.store, req).to_json())


@router.get("/memories/{memory_id}", responses=ok(MemoryView, ERRORS),
            summary="One memory with its evidence (as `memory memories show`)")
def memory(request: Request, c: Annotated[Caller, Depends(caller("read"))],
           memory_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    return cached(c, request, lambda: act.show(c.store, memory_id, c.seen).to_json())


class NewMemory(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    project: str | None = Field(None, min_length=1, max_length=1000,
                                description="a project's path or name; none: every project")
    type: Kind = "fact"
    pin: bool = False


@router.post("/memories", responses=ok(MemoryView, ERRORS),
             summary="Remember something (as `memory memories add`; write)")
def add(c: Annotated[Caller, Depends(caller("write"))], body: NewMemory) -> dict[str, Any]:
    view = act.add(c.store, act.AddRequest(text=body.text, type=body.type, project=body.project,
                                           pin=body.pin, visible_projects=c.seen.project_ids))
    c.store.record_write(c.principal.name, c.principal.submodule, "add-memory",
                         str(view.memory["id"]), int(time.time() * 1000))
    return view.to_json()


class PatternQuery(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="words the text must hold (all)")
    project: str | None = Field(None, min_length=1, max_length=1000)
    limit: int = Field(20, ge=1, le=1000)


@router.post("/patterns/search", responses=ok(list[MemoryOut], ERRORS),
             summary="Patterns and error fixes holding these words (as `memory memories list "
             "-t pattern -t error_fix -q WORDS`)")
def patterns(c: Annotated[Caller, Depends(caller("read"))], body: PatternQuery) -> Any:
    return act.list_memories(c.store, act.ListRequest(
        project=body.project, types=list(act.PATTERN_TYPES), query=body.query, limit=body.limit,
        visible_projects=c.seen.project_ids)).to_json()
