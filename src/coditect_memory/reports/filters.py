"""The filters every report takes (--since, --until, --project), parsed once, applied by the
store. Days are UTC days; a bare date given to --until includes that whole day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import NotFound, UsageError
from ..store.protocol.reports import ReportStore, Where
from ..timeutil import iso, parse_ts

DAY_MS = 86_400_000
EPOCH = date(1970, 1, 1)
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}


@dataclass(frozen=True)
class Filters:
    since: int | None = None  # epoch ms, inclusive
    until: int | None = None  # epoch ms, exclusive
    project: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"since": iso(self.since), "until": iso(self.until), "project": self.project}


def today() -> date:
    return datetime.now(UTC).date()


def day_ms(d: date) -> int:
    return (d - EPOCH).days * DAY_MS


def day_of(n: int) -> date:
    """A UTC day number (ms // DAY_MS) as a date."""
    return EPOCH + timedelta(days=n)


def day_name(n: int) -> str:
    return day_of(n).isoformat()


def parse_day(text: str) -> date | None:
    """A day as people write it: 2025-11-15, 20251115, today, yesterday, 7d (7 days ago),
    'Nov 15' or '15 Nov' (the latest such day not in the future); None if not a day."""
    t = text.strip().lower()
    if t in ("today", "now"):
        return today()
    if t == "yesterday":
        return today() - timedelta(days=1)
    if m := re.fullmatch(r"(\d+)d", t):
        return today() - timedelta(days=int(m.group(1)))
    if m := re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", t):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise UsageError(f"no such day: {text!r}") from None
    m = re.fullmatch(r"([a-z]{3})[a-z]*\.?\s+(\d{1,2})", t) or re.fullmatch(r"(\d{1,2})\s+([a-z]{3})[a-z]*\.?", t)
    if m:
        mon, dd = (m.group(1), m.group(2)) if m.group(1).isalpha() else (m.group(2), m.group(1))
        if mon not in _MONTHS:
            return None
        now = today()
        for year in (now.year, now.year - 1):
            try:
                d = date(year, _MONTHS[mon], int(dd))
            except ValueError:
                raise UsageError(f"no such day: {text!r}") from None
            if d <= now:
                return d
    return None


def parse_bound(text: str | None, end: bool) -> int | None:
    """--since / --until as epoch ms: a day means its start (since) or the next day's (until)."""
    if text is None:
        return None
    d = parse_day(text)
    if d is not None:
        return day_ms(d + timedelta(days=1) if end else d)
    ms = parse_ts(text)
    if ms is None:
        raise UsageError(f"not a day or time: {text!r} (try 2025-11-15, 'Nov 15', 7d or "
                         "2025-11-15T09:30Z)")
    return ms


def parse_range(text: str) -> tuple[int | None, int | None]:
    """`memory timeline` DAY or FROM..TO (days, both included) as [since, until)."""
    if ".." in text:
        a, b = text.split("..", 1)
        since = parse_bound(a, end=False) if a.strip() else None
        until = parse_bound(b, end=True) if b.strip() else day_ms(today() + timedelta(days=1))
        if since is None:
            raise UsageError(f"a range needs a first day: {text!r} (try 2025-11-15..2025-11-17)")
        return since, until
    return parse_bound(text, end=False), parse_bound(text, end=True)


def make(since: str | None, until: str | None, project: str | None) -> Filters:
    f = Filters(parse_bound(since, False), parse_bound(until, True), project)
    if f.since is not None and f.until is not None and f.until <= f.since:
        raise UsageError(f"--until ({until}) is not after --since ({since})")
    return f


def for_store(store: ReportStore, f: Filters) -> Where:
    """The filters as the store takes them: the project resolved to ids (an unknown one is an
    error a person can act on, not an empty report)."""
    if f.project is None:
        return Where(f.since, f.until)
    found = store.report_projects(f.project)
    if not found:
        raise NotFound(f"no project {f.project!r}; `memory report project-activity` lists them")
    return Where(f.since, f.until, tuple(p["id"] for p in found))
