"""GET /health: no token; what a load balancer or a person checks first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ... import __version__

router = APIRouter(tags=["health"])


@router.get("/health", summary="Status, store kind and version, counts, index state (no token)")
def health(request: Request) -> dict[str, Any]:
    api = request.app.state.api
    st = api.store.status()
    index = api.store.index_state("keyword")
    return {"status": "ok", "version": __version__,
            "store": {**st["store"], "messages": st["messages"], "sessions": st["sessions"],
                      "projects": st["projects"]},
            "index": {"docs": index["docs"], "done_id": index["done_id"]} if index else None,
            "cache": api.responses.kind}
