"""/sync/*: the central side of `memory sync` (sync/server.py does the work).

A machine names itself in every request (`machine`, `hostname`, `submodule`); the token's
scope and submodules decide what it may push (write) and pull (read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ...sync import server
from ..context import Caller, caller, sync_scope
from ..errors import ERRORS

router = APIRouter(prefix="/sync", tags=["sync"])
Machine = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                               description="the machine's id (`memory sync init` makes one)")]
MaybeMachine = Annotated[str | None, Query(min_length=1, max_length=64,
                                          pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Hostname = Annotated[str, Query(max_length=200)]
Submodule = Annotated[str | None, Query(max_length=200)]
Cursor = Annotated[int, Query(ge=0, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=50_000)]


def _sender(c: Caller, machine: str, hostname: str, submodule: str | None) -> server.Sender:
    return server.Sender(machine, hostname or machine, submodule or None, c.principal.name,
                         c.principal.submodules)


@router.post("/push", responses=ERRORS, summary="Store a batch of messages (zstd JSON Lines, "
             "the `memory export` format); idempotent by uid")
async def push(request: Request, c: Annotated[Caller, Depends(caller("write"))],
               machine: Machine, hostname: Hostname = "", submodule: Submodule = None,
               last: Cursor = 0) -> dict[str, Any]:
    data = await request.body()
    sender = _sender(c, machine, hostname, submodule)
    writes = getattr(request.app.state, "sync_writes", None)
    if writes is None:  # made once, on the event loop (no race)
        writes = request.app.state.sync_writes = server.Writes(c.api.ingest_lock)
    return await run_in_threadpool(server.receive, c.store, c.api.settings, writes, sender,
                                   data, c.api.search)


@router.get("/pull", responses=ERRORS, summary="Messages after a cursor that this token may see "
            "and this machine did not send (zstd JSON Lines; X-Sync-Next, X-Sync-More)")
def pull(c: Annotated[Caller, Depends(caller("read"))], machine: Machine,
         hostname: Hostname = "", submodule: Submodule = None, after: Cursor = 0,
         limit: Limit = 2000, floor: Cursor = 0) -> Response:
    served = server.serve(c.store, c.api.settings, _sender(c, machine, hostname, submodule),
                          after, limit, sync_scope(c).project_ids, floor)
    return Response(served.data, media_type="application/zstd",
                    headers={"X-Sync-Next": str(served.next_cursor),
                             "X-Sync-Floor": str(served.floor_seq),
                             "X-Sync-More": "1" if served.more else "0",
                             "X-Sync-Messages": str(served.messages)})


@router.post("/tombstones", responses=ERRORS, summary="Forget these uids here and on every "
             "machine that pulls (audited under the token's name)")
def tombstones_in(c: Annotated[Caller, Depends(caller("write"))], machine: Machine,
                  uids: Annotated[list[Annotated[str, Body(max_length=200)]], Body(embed=True, max_length=50_000)],
                  hostname: Hostname = "", submodule: Submodule = None) -> dict[str, Any]:
    return server.receive_tombstones(c.store, c.api.settings, c.api.ingest_lock,
                                     _sender(c, machine, hostname, submodule), uids)


@router.get("/tombstones", responses=ERRORS, summary="Tombstones other machines sent, after a cursor")
def tombstones_out(c: Annotated[Caller, Depends(caller("read"))], machine: Machine,
                   hostname: Hostname = "", submodule: Submodule = None, after: Cursor = 0,
                   limit: Limit = 1000) -> dict[str, Any]:
    return server.tombstones_after(c.store, _sender(c, machine, hostname, submodule), after, limit)


@router.get("/status", responses=ERRORS, summary="What the server holds and the machines that sync")
def status(c: Annotated[Caller, Depends(caller("read"))], machine: MaybeMachine = None,
           hostname: Hostname = "", submodule: Submodule = None) -> dict[str, Any]:
    sender = _sender(c, machine, hostname, submodule) if machine else None
    return server.status(c.store, sender)
