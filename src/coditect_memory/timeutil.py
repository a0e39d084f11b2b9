"""Timestamps: stored as integer epoch milliseconds (UTC), shown as ISO-8601 with a Z."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

from .errors import UsageError

DAY_MS = 86_400_000
EPOCH = date(1970, 1, 1)
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}

# Years 1..9999: what `iso` can show and an SQLite INTEGER can hold.
_MIN_MS, _MAX_MS = -62135596800000, 253402300799999


def parse_ts(value: object) -> int | None:
    """Epoch ms from an ISO string, epoch seconds or epoch ms; None when unreadable.

    Out-of-range or non-finite numbers (NaN, 1e30) are unreadable too: stored, they would
    break every later display of the store.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
        if not math.isfinite(v):
            return None
        ms = int(v if abs(v) > 1e11 else v * 1000)
        return ms if _MIN_MS <= ms <= _MAX_MS else None
    if isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            ms = int(dt.timestamp() * 1000)
        except (ValueError, OverflowError):
            return None
        return ms if _MIN_MS <= ms <= _MAX_MS else None
    return None


def iso(ms: int | None) -> str | None:
    """ISO-8601 UTC with millisecond precision, e.g. 2025-11-15T09:30:00.123Z."""
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def today() -> date:
    return datetime.now(UTC).date()


def day_ms(d: date) -> int:
    return (d - EPOCH).days * DAY_MS


def parse_day(text: str) -> date | None:
    """A day as people write it: 2025-11-15, 20251115, today, yesterday, 7d (7 days ago),
    'Nov 15' or '15 Nov' (the latest such day not in the future); None if not a day.
    The one parser of days for every command (reports, timeline, restore --at, search)."""
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


def parse_user_time(text: str, end_of_day: bool = False) -> int:
    """A time given on the command line, as epoch ms: a day (`parse_day`) means its first
    millisecond, or with `end_of_day` its last (`restore --at 2026-12-02` takes that day's
    backups); anything else is an ISO timestamp. Days are UTC days."""
    d = parse_day(text)
    if d is not None:
        return day_ms(d + timedelta(days=1)) - 1 if end_of_day else day_ms(d)
    ms = parse_ts(text.strip())
    if ms is None:
        raise UsageError(f"not a date or time: {text!r} (try 2025-11-15, 'Nov 15', today, 7d or "
                         "2025-11-15T09:30Z)")
    return ms
