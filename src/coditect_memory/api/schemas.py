"""Response shapes for the OpenAPI document (the docs page, and schemathesis checks every
answer against them). Routes answer the actions' `to_json()` bytes directly (cached as
bytes); these models describe those shapes, they do not build them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


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


class SearchHit(BaseModel):
    uid: str
    session_id: str | None
    project: str | None
    project_name: str | None
    timestamp: str | None
    source_kind: str
    source_file: str | None
    source_line: int | None
    type: str
    role: str | None
    tool_name: str | None
    component: str | None
    level: str | None
    is_error: bool
    snippet: str
    highlights: list[list[int]]
    score: float
    open: str | None


class SearchOut(BaseModel):
    query: str
    mode: str
    sort: str
    total: int
    took_ms: float
    offset: int
    limit: int
    results: list[SearchHit]
    notes: list[str]
    facets: dict[str, dict[str, int]] | None = None


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
