"""Backups: list (read), create and verify (admin). Restore stays a CLI command."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from ...actions import backup as act
from ...errors import Forbidden
from ..context import Caller, cached, caller
from ..errors import ERRORS

router = APIRouter(tags=["backups"])


def _unscoped(c: Caller) -> None:
    if c.seen.project_ids is not None:
        raise Forbidden("a backup holds every submodule: it needs an unscoped admin token")


@router.get("/backups", responses=ERRORS, summary="The backups at the configured target")
def backups(request: Request, c: Annotated[Caller, Depends(caller("read"))]) -> Response:
    return cached(c, request, lambda: [b.to_json() for b in act.list_backups(
        c.api.settings, act.Target())])


@router.post("/backups", responses=ERRORS, summary="Make a backup now (admin)")
def create(c: Annotated[Caller, Depends(caller("admin"))],
           type: Literal["incremental", "full"] = "incremental") -> dict[str, Any]:  # noqa: A002
    _unscoped(c)
    made = act.create(c.api.settings, act.Target(), type)
    c.store.record_write(c.principal.name, c.principal.submodule, "backup", made.backup_id,
                         int(time.time() * 1000))
    return made.to_json()


@router.post("/backups/{backup_id}/verify", responses=ERRORS, summary="Re-hash a backup (admin)")
def verify(c: Annotated[Caller, Depends(caller("admin"))],
           backup_id: Annotated[str, Path(min_length=1, max_length=100)],
           deep: bool = False) -> dict[str, Any]:
    _unscoped(c)
    return act.verify(c.api.settings, act.Target(), backup_id, deep).to_json()
