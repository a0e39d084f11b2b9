"""POST /sync/mutable/push (write) and GET /sync/mutable/pull (read): the mutable records of
`memory sync` (titles and tags, privacy levels, memories), as sync/mutable_server.py serves
them. The machine is named by the `machine` query parameter every sync request carries."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...sync.mutable_server import MAX_INT, serve_pull, serve_push
from ..context import Caller, caller, sync_scope
from ..errors import ERRORS

router = APIRouter(tags=["sync"])
Machine = Annotated[str, Query(min_length=1, max_length=200)]


class MutablePush(BaseModel):
    records: list[dict[str, Any]] = Field(max_length=5000)


def _visible(c: Caller) -> frozenset[str] | None:
    """The project paths a token scoped to submodules may read and write (None: all)."""
    seen = sync_scope(c)
    return None if seen.project_ids is None else seen.paths


@router.post("/sync/mutable/push", responses=ERRORS,
             summary="Push changed titles, tags, privacy levels and memories (central wins)")
def push(c: Annotated[Caller, Depends(caller("write"))], machine: Machine,
         body: MutablePush) -> dict[str, Any]:
    out = serve_push(c.store, body.records, machine, _visible(c))
    if any(r["status"] == "accept" for r in out["results"]):
        c.store.record_write(c.principal.name, c.principal.submodule, "sync-mutable-push", machine,
                             int(time.time() * 1000))
    return out


@router.get("/sync/mutable/pull", responses=ERRORS,
            summary="Titles, tags, privacy levels and memories other machines changed, after a cursor")
def pull(c: Annotated[Caller, Depends(caller("read"))], machine: Machine,
         after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
         limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict[str, Any]:
    return serve_pull(c.store, after, limit, machine, _visible(c))
