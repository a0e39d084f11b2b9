"""Is capture keeping up? `memory status` warns before Claude Code deletes what we never read.

Claude Code removes transcripts older than `cleanupPeriodDays` (its settings.json; 30 when
unset). A transcript written since the last capture is at risk only if nothing runs
`memory ingest` before then, so status compares the transcripts on disk (names, sizes and
times only: nothing is opened) with what the store has read."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import orjson

from ..store.base import Store
from .inventory import Entry, walk

DEFAULT_CLEANUP_DAYS = 30
STALE_AFTER = 86_400  # seconds without a capture while transcripts changed
RISK_MARGIN_DAYS = 7  # warn this long before Claude Code's cleanup reaches a transcript


@dataclass(frozen=True)
class CaptureWarning:
    code: str  # "never-captured", "capture-stale", "cleanup-risk"
    message: str
    files: int  # transcripts concerned

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "files": self.files}


def cleanup_days(root: Path) -> int:
    """Claude Code's `cleanupPeriodDays` as its settings.json says (30 when unset)."""
    try:
        value = orjson.loads((root / "settings.json").read_bytes()).get("cleanupPeriodDays")
    except (OSError, ValueError, AttributeError):
        return DEFAULT_CLEANUP_DAYS
    return value if isinstance(value, int) and value > 0 else DEFAULT_CLEANUP_DAYS


def capture_warnings(store: Store, root: Path, now: float,
                     last_capture: float | None) -> list[CaptureWarning]:
    """Warnings about the transcripts under `root`/projects that the store has not read
    (new, or grown since): never captured, not captured for a day, or due for deletion by
    Claude Code within a week."""
    projects = root / "projects"
    if not projects.is_dir():
        return []
    key = os.path.abspath(root)
    manifest = store.manifest(key)
    behind: list[Entry] = []
    for e in walk(str(projects), set()):
        if isinstance(e, Entry) and e.relpath.endswith(".jsonl"):
            known = manifest.get(f"projects/{e.relpath}")
            if known is None or known.bytes_consumed < e.size:
                behind.append(e)
    if not behind:
        return []
    out = []
    hint = "run `memory ingest`; to capture by itself: `memory watch` or `memory ingest schedule`"
    if not manifest:
        out.append(CaptureWarning("never-captured", f"{len(behind):,} transcripts in {root} "
                                  f"were never captured: {hint}", len(behind)))
    elif last_capture is not None and now - last_capture > STALE_AFTER:
        days = (now - last_capture) / 86_400
        out.append(CaptureWarning("capture-stale", f"nothing captured for {days:.0f} days while "
                                  f"{len(behind):,} transcripts changed: {hint}", len(behind)))
    days = cleanup_days(root)
    due = now - (days - RISK_MARGIN_DAYS) * 86_400
    at_risk = [e for e in behind if e.mtime_ns / 1e9 < due]
    if at_risk:
        out.append(CaptureWarning(
            "cleanup-risk", f"{len(at_risk):,} transcripts not yet captured are due for deletion "
            f"by Claude Code within {RISK_MARGIN_DAYS} days (cleanupPeriodDays = {days}): "
            "run `memory ingest` now", len(at_risk)))
    return out
