"""The filters every report takes (--since, --until, --project), parsed once, applied by the
store. Days are days in the filters' time zone (--timezone); a bare date given to --until includes that whole day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, timedelta, tzinfo
from typing import Any

from ..errors import NotFound, UsageError
from ..store.protocol.reports import ReportStore, Where
from ..timeutil import (  # noqa: F401 - today and DAY_MS re-exported for the reports
    DAY_MS,
    EPOCH,
    day_ms,
    iso,
    parse_day,
    parse_user_time,
    today,
)


@dataclass(frozen=True)
class Filters:
    since: int | None = None  # epoch ms, inclusive
    until: int | None = None  # epoch ms, exclusive
    project: str | None = None
    visible: tuple[int, ...] | None = None  # only these projects (a scoped API token); None: all
    tz: tzinfo = field(default=UTC, compare=False)  # where days begin (--timezone)

    def describe(self) -> dict[str, Any]:
        return {"since": iso(self.since), "until": iso(self.until), "project": self.project}


def day_of(n: int) -> date:
    """A UTC day number (ms // DAY_MS) as a date."""
    return EPOCH + timedelta(days=n)


def day_name(n: int) -> str:
    return day_of(n).isoformat()


def parse_bound(text: str | None, end: bool, tz: tzinfo = UTC) -> int | None:
    """--since / --until as epoch ms: a day means its start (since) or the next day's (until),
    in `tz`."""
    if text is None:
        return None
    d = parse_day(text, tz)
    if d is not None:
        return day_ms(d + timedelta(days=1) if end else d, tz)
    return parse_user_time(text, tz=tz)


def parse_range(text: str, tz: tzinfo = UTC) -> tuple[int | None, int | None]:
    """`memory timeline` DAY or FROM..TO (days, both included) as [since, until)."""
    if ".." in text:
        a, b = text.split("..", 1)
        since = parse_bound(a, False, tz) if a.strip() else None
        until = parse_bound(b, True, tz) if b.strip() else day_ms(today(tz) + timedelta(days=1), tz)
        if since is None:
            raise UsageError(f"a range needs a first day: {text!r} (try 2025-11-15..2025-11-17)")
        return since, until
    return parse_bound(text, False, tz), parse_bound(text, True, tz)


def make(since: str | None, until: str | None, project: str | None,
         visible: tuple[int, ...] | None = None, tz: tzinfo = UTC) -> Filters:
    f = Filters(parse_bound(since, False, tz), parse_bound(until, True, tz), project, visible, tz)
    if f.since is not None and f.until is not None and f.until <= f.since:
        raise UsageError(f"--until ({until}) is not after --since ({since})")
    return f


def for_store(store: ReportStore, f: Filters) -> Where:
    """The filters as the store takes them: the project resolved to ids (an unknown one is an
    error a person can act on, not an empty report)."""
    ids = f.visible
    if f.project is not None:
        found = [p["id"] for p in store.report_projects(f.project)
                 if ids is None or p["id"] in ids]
        if not found:
            raise NotFound(f"no project {f.project!r}; `memory report project-activity` lists them")
        ids = tuple(found)
    return Where(f.since, f.until, ids)
