"""GET /reports/{name}: the CLI's reports in json, csv, md or html."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from ...actions import reports as act
from ...errors import Forbidden, UsageError
from ..context import Caller, cached, caller
from ..errors import ERRORS
from .sessions import _session

router = APIRouter(tags=["reports"])
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8",
         "md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


@router.get("/reports/{name}", responses=ERRORS, summary="A report (as `memory report NAME`)")
def report(request: Request, c: Annotated[Caller, Depends(caller("read"))],
           name: Annotated[str, Path(max_length=100, description=", ".join(act.REPORTS))],
           format: Literal["json", "csv", "md", "html"] = "json",  # noqa: A002
           since: Annotated[str | None, Query(max_length=100)] = None,
           until: Annotated[str | None, Query(max_length=100)] = None,
           project: Annotated[str | None, Query(max_length=1000)] = None,
           session: Annotated[str | None, Query(max_length=200, description="the session report's session")] = None,
           by: Literal["day", "week", "month", "session", "model", "project", "block"] = "day",
           timezone: Annotated[str | None, Query(max_length=100, description="IANA zone where days begin")] = None,
           ) -> Response:
    from ...reports.render import render

    if name not in act.REPORTS:
        raise UsageError(f"no report {name!r}; known: {', '.join(act.REPORTS)}")
    if name == "extraction-progress" and c.seen.project_ids is not None:
        raise Forbidden("extraction-progress covers every folder read: it needs an unscoped token")
    if name == "session" and session:
        session = _session(c, session).session["session_id"]
    filters = act.ReportFilters(since, until, project, c.seen.project_ids, timezone)
    options = act.Options(session_id=session, by=by, charts=format == "html")
    act.check(name, filters, options)

    def compute() -> str:
        text = render(act.report(c.store, c.api.settings, name, filters, options), format)
        return text if text.endswith("\n") else text + "\n"

    return cached(c, request, compute, MEDIA[format])
