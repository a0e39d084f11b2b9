"""Capture that runs by itself: `memory watch` (ingest within seconds of a change) and
`memory ingest schedule` (a cron line or a systemd timer that runs `memory ingest`).

Claude Code deletes transcripts after `cleanupPeriodDays` (30 by default): a capture that
depends on someone remembering to run it loses data. Both doors run the same incremental
ingest as `memory ingest`, so a run started by hand, a hook, the watcher or a timer all
share one lock and one watermark."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import scheduling as sched
from ..errors import MemoryError_, UsageError
from ..scheduling import Schedule
from ..settings import Settings
from .ingest import IngestResult, check_root, ingest

__all__ = ["IngestScheduleRequest", "Schedule", "WatchEvent", "check_root", "parse_every", "schedule",
           "watch"]


def parse_every(text: str) -> int:
    """'10m', '1h', '15' (minutes) → minutes; a period cron and systemd both express."""
    m = re.fullmatch(r"\s*(\d+)\s*(m|min|h)?\s*", text)
    if m:
        n = int(m.group(1)) * (60 if m.group(2) == "h" else 1)
        if 1 <= n < 60 or (n % 60 == 0 and 60 <= n <= 1440):
            return n
    raise UsageError(f"--every {text!r}: use minutes below an hour (e.g. 10m) or whole hours "
                     "(e.g. 2h)")


@dataclass(frozen=True)
class IngestScheduleRequest:
    every: str = "10m"
    root: Path | None = None  # default: the configured Claude folder
    systemd: bool = False
    install: bool = False


def schedule(settings: Settings, request: IngestScheduleRequest) -> Schedule:
    """`memory ingest ROOT` every N minutes; the folder is named in the job, so the timer
    does not depend on the environment it runs in."""
    minutes = parse_every(request.every)
    if request.install and not request.systemd:
        raise UsageError("--install writes systemd units (add --systemd); for cron, add the "
                         "printed line with `crontab -e`")
    root = (request.root or settings.claude_root).expanduser().resolve()
    check_root(root, "claude")
    cmd = sched.command(["ingest", str(root)], settings.home)
    return sched.plan(cmd, sched.When(every=minutes), "memory-ingest",
                      "coditect-memory capture of Claude Code's folder",
                      settings.home / "ingest.log", request.systemd, request.install)


@dataclass(frozen=True)
class WatchEvent:
    """One ingest the watcher ran (or could not run: `error`)."""

    at: float
    changed: int  # file-system changes that triggered it (0: the first run)
    result: IngestResult | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": round(self.at, 3), "changed": self.changed}
        if self.result is not None:
            out["run"] = self.result.to_json()
        if self.error is not None:
            out["error"] = self.error
        return out


def watch(settings: Settings, root: Path, on_event: Callable[[WatchEvent], None],
          stop: threading.Event, debounce_ms: int = 2000, min_gap: float = 10.0,
          opener: Callable[[], Any] | None = None) -> None:
    """Ingest `root` now, then again each time files under it change (file-system events,
    no polling: idle costs nothing), at most once every `min_gap` seconds. An ingest that
    fails (another run holds the lock, a disk error) is reported and retried on the next
    change; only `stop` ends the loop."""
    import watchfiles

    from ..store import open_store

    check_root(root, "claude")
    open_ = opener or (lambda: open_store(settings))

    def run(changed: int) -> None:
        try:
            with open_() as store:
                on_event(WatchEvent(time.time(), changed, ingest(store, settings, root)))
        except MemoryError_ as e:
            on_event(WatchEvent(time.time(), changed, error=str(e)))

    # The first run happens once the watcher is listening, so nothing written in between
    # is missed; the 1 s wake-ups let a burst that ended before `min_gap` still be taken.
    last, pending, first = time.monotonic(), 0, True
    for changes in watchfiles.watch(root, debounce=debounce_ms, stop_event=stop,
                                    yield_on_timeout=True, rust_timeout=1000,
                                    raise_interrupt=False):
        if first:
            run(0)
            last, first = time.monotonic(), False
            continue
        pending += len(changes)
        if pending and time.monotonic() - last >= min_gap:
            run(pending)
            pending, last = 0, time.monotonic()
