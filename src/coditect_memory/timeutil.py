"""Timestamps: stored as integer epoch milliseconds (UTC), shown as ISO-8601 with a Z."""

from __future__ import annotations

import calendar
import math
import re
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError

DAY_MS = 86_400_000
EPOCH = date(1970, 1, 1)
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}

# Years 1..9999: what `iso` can show and an SQLite INTEGER can hold.
_MIN_MS, _MAX_MS = -62135596800000, 253402300799999
_NUMBER = (int, float)


def parse_ts(value: object) -> int | None:
    """Epoch ms from an ISO string, epoch seconds or epoch ms; None when unreadable.

    Out-of-range or non-finite numbers (NaN, 1e30) are unreadable too: stored, they would
    break every later display of the store. (A string, what every line has, is tried first:
    this runs for each line a first ingest reads.)
    """
    if isinstance(value, str):
        if not value:
            return None
        try:
            dt = datetime.fromisoformat(value)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            ms = int(dt.timestamp() * 1000)
        except (ValueError, OverflowError):
            return None
        return ms if _MIN_MS <= ms <= _MAX_MS else None
    if isinstance(value, bool) or not isinstance(value, _NUMBER):  # None, a list, ...
        return None
    v = float(value)
    if not math.isfinite(v):
        return None
    ms = int(v if abs(v) > 1e11 else v * 1000)
    return ms if _MIN_MS <= ms <= _MAX_MS else None


def iso(ms: int | None) -> str | None:
    """ISO-8601 UTC with millisecond precision, e.g. 2025-11-15T09:30:00.123Z."""
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class _Local(tzinfo):
    """This machine's time zone, daylight saving included (the C library's localtime)."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        stamp = time.mktime((dt or datetime.now()).replace(tzinfo=None).timetuple())
        return timedelta(seconds=time.localtime(stamp).tm_gmtoff)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        stamp = time.mktime((dt or datetime.now()).replace(tzinfo=None).timetuple())
        return time.localtime(stamp).tm_zone

    def fromutc(self, dt: datetime) -> datetime:
        offset = time.localtime(calendar.timegm(dt.timetuple())).tm_gmtoff
        return dt + timedelta(seconds=offset)


LOCAL: tzinfo = _Local()


def zone(name: str | None) -> tzinfo:
    """--timezone NAME: an IANA zone (Europe/Paris, UTC); None or '' is the local zone."""
    if not name or name.lower() == "local":
        return LOCAL
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r}: give an IANA name such as Europe/Paris, "
                         "America/New_York or UTC") from None


def zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", None) or tz.tzname(None) or "UTC")


def is_utc(tz: tzinfo) -> bool:
    """Whether days in `tz` are UTC days (then the stored daily rollups answer as they are)."""
    return all(tz.utcoffset(datetime(2025, m, 1)) == timedelta(0) for m in (1, 7))


def today(tz: tzinfo = UTC) -> date:
    return datetime.now(tz).date()


def day_ms(d: date, tz: tzinfo = UTC) -> int:
    """The first millisecond of day `d` in `tz`."""
    if tz is UTC:
        return (d - EPOCH).days * DAY_MS
    return int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)


def local(ms: int, tz: tzinfo = UTC) -> datetime:
    """Epoch ms as a time in `tz`."""
    return datetime.fromtimestamp(ms / 1000, tz)


def parse_day(text: str, tz: tzinfo = UTC) -> date | None:
    """A day as people write it: 2025-11-15, 20251115, today, yesterday, 7d (7 days ago),
    'Nov 15' or '15 Nov' (the latest such day not in the future); None if not a day.
    The one parser of days for every command (reports, timeline, restore --at, search)."""
    t = text.strip().lower()
    if t in ("today", "now"):
        return today(tz)
    if t == "yesterday":
        return today(tz) - timedelta(days=1)
    if m := re.fullmatch(r"(\d+)d", t):
        return today(tz) - timedelta(days=int(m.group(1)))
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
        now = today(tz)
        for year in (now.year, now.year - 1):
            try:
                d = date(year, _MONTHS[mon], int(dd))
            except ValueError:
                raise UsageError(f"no such day: {text!r}") from None
            if d <= now:
                return d
    return None


def parse_user_time(text: str, end_of_day: bool = False, tz: tzinfo = UTC) -> int:
    """A time given on the command line, as epoch ms: a day (`parse_day`) means its first
    millisecond, or with `end_of_day` its last (`restore --at 2026-12-02` takes that day's
    backups); anything else is an ISO timestamp. Days are days in `tz`."""
    d = parse_day(text, tz)
    if d is not None:
        return day_ms(d + timedelta(days=1), tz) - 1 if end_of_day else day_ms(d, tz)
    ms = parse_ts(text.strip())
    if ms is None:
        raise UsageError(f"not a date or time: {text!r} (try 2025-11-15, 'Nov 15', today, 7d or "
                         "2025-11-15T09:30Z)")
    return ms


def user_bound(text: str | None, end: bool, tz: tzinfo = UTC) -> str | None:
    """--since / --until for a filter that takes ISO times (search): a day means its first
    millisecond, or with `end` its last (`--until yesterday` includes yesterday), in `tz`."""
    return None if text is None else iso(parse_user_time(text, end_of_day=end, tz=tz))


def clock(iso_ts: str | None, tz: tzinfo | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str | None:
    """A stored ISO time as a person's clock shows it in `tz` (None: UTC); None if unreadable."""
    ms = parse_ts(iso_ts) if iso_ts else None
    return None if ms is None else local(ms, tz or UTC).strftime(fmt)
