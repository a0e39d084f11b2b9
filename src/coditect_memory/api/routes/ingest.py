"""POST /ingest: an incremental ingest of the configured Claude folder (write)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from ...actions import ingest as act
from ...errors import StoreLocked
from ..context import Caller, caller
from ..errors import ERRORS

router = APIRouter(tags=["ingest"])


@router.post("/ingest", responses=ERRORS,
             summary="Ingest the configured ~/.claude incrementally (409 while another runs)")
def ingest(c: Annotated[Caller, Depends(caller("write"))]) -> dict[str, Any]:
    # another process's ingest: refused at once (409), not waited for
    settings = replace(c.api.settings, ingest=replace(c.api.settings.ingest, lock_wait_seconds=0))
    if not c.api.ingest_lock.acquire(blocking=False):
        raise StoreLocked("an ingest is already running in this server; try again when it ends")
    try:
        act.check_root(settings.claude_root, "claude")
        result = act.ingest(c.store, settings, settings.claude_root)
        c.store.record_write(c.principal.name, c.principal.submodule, "ingest",
                             str(result.stats.run_id), int(time.time() * 1000))
        return result.to_json()
    finally:
        c.api.ingest_lock.release()
