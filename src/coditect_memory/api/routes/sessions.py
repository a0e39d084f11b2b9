"""Sessions, one session, its title and tags, messages, projects, the timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...actions import browse
from ...actions import reports as reports_act
from ...actions import submodules as subs
from ...actions.forget import ForgetResult
from ...errors import NotFound, UsageError
from ...privacy import audit
from ...search.filters import user_time
from ...store.protocol.access import MessageFilter
from ...store.protocol.read import AmbiguousSession
from ..context import Caller, cached, caller
from ..errors import ERRORS
from ..schemas import Day, MessagePage, Note, Project, SessionPage, SessionView, ok

router = APIRouter(tags=["sessions"])
Id = Annotated[str, Path(min_length=1, max_length=200)]
Cursor = Annotated[str | None, Query(max_length=500)]


def _projects(c: Caller, value: str | None) -> tuple[int, ...] | None:
    """The visible projects, narrowed to `value` (a path or name) when given."""
    if value is None:
        return c.seen.project_ids
    ids = c.seen.narrow(tuple(c.store.project_ids(value)))
    if not ids:
        raise NotFound(f"no project {value!r}; GET /api/v1/projects lists them")
    return ids


@router.get("/sessions", responses=ok(SessionPage, ERRORS), summary="Sessions, newest first (cursor pagination)")
def sessions(request: Request, c: Annotated[Caller, Depends(caller("read"))],
             project: Annotated[str | None, Query(max_length=1000)] = None,
             cursor: Cursor = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    return cached(c, request, lambda: browse.session_page(
        c.store, _projects(c, project), cursor, limit).to_json())


def _session(c: Caller, session_id: str) -> browse.SessionView:
    try:
        view = browse.show_session(c.store, session_id)
    except AmbiguousSession:
        if c.seen.project_ids is None:
            raise
        raise NotFound(f"no session {session_id!r}") from None  # names no other submodule's
    c.check_project(view.session["project"], f"session {session_id!r}")
    return view


@router.get("/sessions/{session_id}", responses=ok(SessionView, ERRORS),
            summary="One session with its messages (as `memory show session --json`)")
def session(request: Request, c: Annotated[Caller, Depends(caller("read"))],
            session_id: Id) -> Response:
    out = cached(c, request, lambda: _session(c, session_id).to_json())
    audit.api_read(c.api.settings.home, c.principal.name, c.principal.submodule, "session.read", session_id)
    return out


class SessionPatch(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=500)
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(None, max_length=50)


@router.patch("/sessions/{session_id}", responses=ok(Note, ERRORS), summary="Set a session's title or tags")
def patch_session(c: Annotated[Caller, Depends(caller("write"))], session_id: Id,
                  body: SessionPatch) -> dict[str, Any]:
    if body.title is None and body.tags is None:
        raise UsageError("give a title or tags to set")
    sid = _session(c, session_id).session["session_id"]
    return browse.annotate(c.store, sid, body.title, body.tags, c.principal.name,
                           c.principal.submodule)


@router.delete("/sessions/{session_id}", responses=ok(ForgetResult, ERRORS),
               summary="Forget a session (GDPR), as `memory forget --session ID`")
def forget_session(c: Annotated[Caller, Depends(caller("admin"))], session_id: Id,
                   gdpr_request: bool = False,
                   reason: Annotated[str | None, Query(max_length=500)] = None,
                   hard: bool = False) -> dict[str, Any]:
    """Hidden from every read at once; purged for good after [privacy] purge_after_days, or
    now with `hard=true`. `gdpr_request=true` confirms (a DELETE cannot be taken back)."""
    import time

    from ...actions import forget as forget_act
    from ...store.protocol.privacy import ForgetSelector

    if not gdpr_request:
        raise UsageError("forgetting a session cannot be undone: add gdpr_request=true to confirm")
    sid = _session(c, session_id).session["session_id"]
    done = forget_act.forget(c.store, c.api.settings, forget_act.ForgetRequest(
        ForgetSelector(sessions=(sid,)), reason, hard, actor=f"token:{c.principal.name}"))
    c.store.record_write(c.principal.name, c.principal.submodule, "forget-session", sid,
                         int(time.time() * 1000))
    return done.to_json()


@router.get("/messages", responses=ok(MessagePage, ERRORS),
            summary="Messages in store order (cursor pagination, stable while ingest writes)")
def messages(request: Request, c: Annotated[Caller, Depends(caller("read"))],
             session: Annotated[str | None, Query(max_length=200)] = None,
             project: Annotated[str | None, Query(max_length=1000)] = None,
             since: Annotated[str | None, Query(max_length=100)] = None,
             until: Annotated[str | None, Query(max_length=100)] = None,
             source: Annotated[list[str] | None, Query(max_length=50)] = None,
             cursor: Cursor = None,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    def compute() -> Any:
        where = MessageFilter(
            session_ids=tuple(c.store.session_ids(session)) if session else None,
            project_ids=_projects(c, project),
            since=user_time(since, end_of_day=False) if since else None,
            until=user_time(until, end_of_day=True) if until else None,
            sources=tuple(source) if source else None)
        return browse.message_page(c.store, where, cursor, limit).to_json()

    return cached(c, request, compute)


@router.get("/projects", responses=ok(list[Project], ERRORS), summary="Projects with their submodule")
def projects(request: Request, c: Annotated[Caller, Depends(caller("read"))]) -> Response:
    return cached(c, request, lambda: subs.projects(c.store, c.seen).to_json())


@router.get("/timeline", responses=ok(Day, ERRORS), summary="The last day with activity (as `memory timeline --json`)")
def latest_day(request: Request, c: Annotated[Caller, Depends(caller("read"))],
               project: Annotated[str | None, Query(max_length=1000)] = None) -> Response:
    return cached(c, request, lambda: reports_act.timeline(
        c.store, c.api.settings, None, project, c.seen.project_ids).to_json())


@router.get("/timeline/{date}", responses=ok(Day, ERRORS),
            summary="What happened on a day or FROM..TO (as `memory timeline --json`)")
def timeline(request: Request, c: Annotated[Caller, Depends(caller("read"))],
             date: Annotated[str, Path(min_length=1, max_length=100)],
             project: Annotated[str | None, Query(max_length=1000)] = None) -> Response:
    return cached(c, request, lambda: reports_act.timeline(
        c.store, c.api.settings, date, project, c.seen.project_ids).to_json())
