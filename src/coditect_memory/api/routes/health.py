"""GET /health: no token; what a load balancer or a person checks first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ... import __version__
from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Status, store kind and version, counts, index state (no token)")
def health(request: Request) -> Any:
    api = request.app.state.api
    store = api.store
    index = store.index_state("keyword")
    return {"status": "ok", "version": __version__, "store": {"kind": store.kind, **api.counts()},
            "index": {"docs": index["docs"], "done_id": index["done_id"]} if index else None,
            "cache": api.responses.kind}
