"""GET /search: the same filters and JSON as `memory search --json`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ...actions import search as act
from ...privacy import audit
from ...search.service import MAX_LIMIT
from ...sources.base import SOURCE_KINDS
from ..context import Caller, cached, caller
from ..errors import ERRORS
from ..schemas import SearchOut, ok

router = APIRouter(tags=["search"])
Many = Annotated[list[str], Query(max_length=500)]


@router.get("/search", responses=ok(SearchOut, ERRORS), summary="Search every message")
def search(request: Request, c: Annotated[Caller, Depends(caller("read"))],
           q: Annotated[str, Query(max_length=2000, description="words, \"phrases\", prefix*, -not, OR, field:value")] = "",
           project: Many = [], session: Many = [],  # noqa: B006
           source: Annotated[list[str], Query(max_length=500, description="source kinds: "
                                              + ", ".join(SOURCE_KINDS))] = [],  # noqa: B006
           type: Many = [], role: Many = [], tool: Many = [],  # noqa: B006, A002
           component: Many = [], level: Many = [],  # noqa: B006
           since: Annotated[str | None, Query(max_length=100)] = None,
           until: Annotated[str | None, Query(max_length=100)] = None,
           sort: Literal["relevance", "newest", "oldest"] = "relevance",
           limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
           offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
           facets: bool = False,
           mode: Literal["keyword", "semantic", "hybrid"] | None = None) -> Response:
    req = act.SearchRequest(query=q, project=project, session=session, source=source, type=type,
                            role=role, tool=tool, component=component, level=level, since=since,
                            until=until, sort=sort, limit=limit, offset=offset, facets=facets,
                            mode=mode, visible_projects=c.seen.project_ids)
    out = cached(c, request, lambda: act.search(c.store, c.api.settings, req, c.api.search).to_json())
    audit.api_read(c.api.settings.home, c.principal.name, c.principal.submodule, "search", None, q)
    return out
