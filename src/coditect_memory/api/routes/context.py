"""GET /context: the pack `memory context` prints, for a project or a folder inside one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ...actions import context as act
from ..context import Caller, cached, caller
from ..errors import ERRORS
from ..schemas_memory import PackOut

router = APIRouter(tags=["memory"])
PACK = {200: {"model": PackOut, "content": {"text/markdown": {"schema": {"type": "string"}}}},
        **ERRORS}


@router.get("/context", responses=PACK, summary="A project's context pack (as `memory context`)")
def context(request: Request, c: Annotated[Caller, Depends(caller("read"))],
            project: Annotated[str | None, Query(max_length=1000, description="a project's path or name")] = None,
            cwd: Annotated[str | None, Query(max_length=4096, description="else the project at (or above) this folder")] = None,
            query: Annotated[str | None, Query(max_length=2000, description="adds relevant past excerpts")] = None,
            budget: Annotated[int | None, Query(ge=50, le=100_000, description="tokens (cl100k); default [memories] budget")] = None,
            format: Literal["json", "md"] = "json") -> Response:  # noqa: A002
    # a read: the pack is not recorded (`memory context diff` compares the CLI's)
    req = act.ContextRequest(project=project, cwd=None if project else cwd, query=query,
                             budget=budget, record=False, visible_projects=c.seen.project_ids)

    def compute() -> str | dict[str, object]:
        pack = act.context(c.store, c.api.settings, req, c.api.tokens(), c.api.search)
        return pack.markdown if format == "md" else pack.to_json()

    return cached(c, request, compute, "text/markdown; charset=utf-8" if format == "md" else "application/json")
