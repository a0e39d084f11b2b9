"""Timestamps: stored as integer epoch milliseconds (UTC), shown as ISO-8601 with a Z."""

from __future__ import annotations

import math
from datetime import UTC, datetime

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


def parse_user_time(text: str) -> int:
    """A date (YYYY-MM-DD) or ISO timestamp given on the command line, as epoch ms."""
    ms = parse_ts(text)
    if ms is None:
        raise ValueError(f"not a date or ISO timestamp: {text!r} (try 2025-11-15 or 2025-11-15T09:30Z)")
    return ms
