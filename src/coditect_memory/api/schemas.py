"""Response shapes for the OpenAPI document (the docs page, and schemathesis checks every
answer against them). Routes answer the actions' `to_json()` bytes directly (cached as
bytes); these models describe those shapes, they do not build them."""

from __future__ import annotations

from typing import Any, get_type_hints

from pydantic import BaseModel, create_model

from ..search.service import ResultRow, SearchResult


class StoreHealth(BaseModel):
    kind: str
    schema_version: int
    messages: int
    sessions: int
    projects: int


class IndexHealth(BaseModel):
    docs: int
    done_id: int


class Health(BaseModel):
    status: str
    version: str
    store: StoreHealth
    index: IndexHealth | None
    cache: str


# The search shapes come from the types the search returns, so they cannot drift apart.
# (pydantic on Python 3.11 takes no typing.TypedDict: its fields are copied instead.)
_HIT: dict[str, Any] = {k: (t, ...) for k, t in get_type_hints(ResultRow).items()}
SearchHit: Any = create_model("SearchHit", **_HIT)
_OUT: dict[str, Any] = {k: (list[SearchHit] if k == "results" else t, None if k == "facets" else ...)
                        for k, t in get_type_hints(SearchResult).items()}
SearchOut: Any = create_model("SearchOut", **_OUT)


class SessionOut(BaseModel):
    session_id: str
    project: str | None
    title: str | None
    started_at: str | None
    ended_at: str | None
    message_count: int
    tags: list[str]


class SessionPage(BaseModel):
    sessions: list[SessionOut]
    next_cursor: str | None


class MessageOut(BaseModel):
    id: int
    uid: str
    type: str
    session_id: str | None
    project: str | None
    content: str | None
    timestamp: str | None
    source_kind: str
    source_file: str | None
    source_line: int | None


class MessagePage(BaseModel):
    messages: list[MessageOut]
    next_cursor: str | None


class SessionView(SessionOut):
    messages: list[dict[str, Any]]


class Note(BaseModel):
    session_id: str
    title: str | None
    tags: list[str]


class Project(BaseModel):
    id: int
    path: str
    name: str | None
    submodule: str | None


class Day(BaseModel):
    since: str | None
    until: str | None
    project: str | None
    days: list[dict[str, Any]]
    rows: list[dict[str, Any]]


def ok(model: type[BaseModel] | Any, errors: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: its 200 shape and the errors it may answer."""
    return {200: {"model": model}, **errors}
