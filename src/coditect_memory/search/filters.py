"""Filters: what the options and the inline `field:value` words restrict a search to.

Resolved against the store once (a project's name or path to its ids, a session prefix to
ids, dates to epoch ms), then applied the same way by the keyword and the vector index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..sources.base import SOURCE_KINDS
from ..store.base import Store
from ..timeutil import parse_user_time

# option / inline name -> index field of the plain term filters
TERM_FIELDS = {"source": "kind", "type": "type", "role": "role", "tool": "tool",
               "component": "component", "level": "level"}


@dataclass
class Filters:
    projects: list[int] | None = None  # None: any; []: none matched (the search finds nothing)
    sessions: list[str] | None = None
    # left out whatever else matches (what a door may not show: EPHEMERAL for MCP)
    hidden_projects: list[int] = field(default_factory=list)
    hidden_sessions: list[str] = field(default_factory=list)
    terms: dict[str, list[str]] = field(default_factory=dict)  # index field -> accepted values
    since: int | None = None  # epoch ms, inclusive
    until: int | None = None  # epoch ms, inclusive
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.projects == [] or self.sessions == []

    @property
    def active(self) -> bool:
        return bool(self.projects is not None or self.sessions is not None or self.terms
                    or self.hidden_projects or self.hidden_sessions
                    or self.since is not None or self.until is not None)


def user_time(text: str, end_of_day: bool) -> int:
    """A bound as epoch ms; with `end_of_day`, any day (2025-11-15, yesterday, 7d, 'Nov 15')
    includes that whole day. Raises UsageError with what to type."""
    return parse_user_time(text.strip(), end_of_day=end_of_day)


def resolve(store: Store, wanted: dict[str, list[str]]) -> Filters:
    """Filters from {name: [values]} (names as in query.FILTER_FIELDS' values)."""
    f = Filters()
    for value in wanted.get("project", []):
        ids = store.project_ids(value)
        if not ids:
            f.notes.append(f"no project {value!r} (`memory sessions` lists them)")
        f.projects = sorted(set(f.projects or []) | set(ids))
    for value in wanted.get("session", []):
        sids = store.session_ids(value)
        if not sids:
            f.notes.append(f"no session {value!r}")
        f.sessions = sorted(set(f.sessions or []) | set(sids))
    for value in wanted.get("source", []):
        if value and value not in SOURCE_KINDS:
            f.notes.append(f"no source kind {value!r} (one of {', '.join(SOURCE_KINDS)})")
    for name, index_field in TERM_FIELDS.items():
        values = [v for v in wanted.get(name, []) if v]
        if values:
            f.terms[index_field] = values
    for value in wanted.get("since", []):
        ms = user_time(value, end_of_day=False)
        f.since = ms if f.since is None else max(f.since, ms)
    for value in wanted.get("until", []):
        ms = user_time(value, end_of_day=True)
        f.until = ms if f.until is None else min(f.until, ms)
    if f.since is not None and f.until is not None and f.since > f.until:
        f.notes.append("the time range is empty (since is after until)")
    return f
