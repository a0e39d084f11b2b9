"""Checkpoints: list, one, and create one now (write). The same actions as `memory
checkpoint list|show|create`."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...actions import checkpoints as act
from ..context import Caller, cached, caller
from ..errors import ERRORS
from ..schemas import ok
from ..schemas_memory import CheckpointOut, CheckpointRow

router = APIRouter(tags=["memory"])


@router.get("/checkpoints", responses=ok(list[CheckpointRow], ERRORS),
            summary="Checkpoints, newest first (as `memory checkpoint list`)")
def checkpoints(request: Request, c: Annotated[Caller, Depends(caller("read"))],
                project: Annotated[str | None, Query(max_length=1000)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    return cached(c, request, lambda: act.list_(c.store, project, limit, c.seen.project_ids))


@router.get("/checkpoints/{checkpoint_id}", responses=ok(CheckpointOut, ERRORS),
            summary="One checkpoint by id or a unique prefix (as `memory checkpoint show --json`)")
def checkpoint(request: Request, c: Annotated[Caller, Depends(caller("read"))],
               checkpoint_id: Annotated[str, Path(min_length=1, max_length=100)]) -> Response:
    return cached(c, request, lambda: act.get(c.store, checkpoint_id, c.seen))


class NewCheckpoint(BaseModel):
    project: str | None = Field(None, min_length=1, max_length=1000, description="a project's path or name")
    cwd: str | None = Field(None, min_length=1, max_length=4096, description="else the project at this folder")
    session: str | None = Field(None, min_length=1, max_length=200,
                                description="the session it follows (default: the project's latest)")
    note: str | None = Field(None, max_length=2000)
    budget: int | None = Field(None, ge=50, le=100_000, description="tokens of its pack")


@router.post("/checkpoints", responses=ok(CheckpointOut, ERRORS),
             summary="Snapshot a project's context now (as `memory checkpoint create`; write)")
def create(c: Annotated[Caller, Depends(caller("write"))], body: NewCheckpoint) -> dict[str, Any]:
    made = act.create(c.store, c.api.settings, act.CheckpointRequest(
        project=body.project, cwd=None if body.project else body.cwd, session=body.session,
        note=body.note, budget=body.budget, visible_projects=c.seen.project_ids))
    c.store.record_write(c.principal.name, c.principal.submodule, "create-checkpoint", made["id"],
                         int(time.time() * 1000))
    return made
