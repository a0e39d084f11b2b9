"""Which cores an ingest's helper processes run on.

A first ingest runs three processes: its own (reading, masking, building rows: the critical
path of the read phase), the writer (store/sqlite/behind.py) and the keyword-index follower
(search/indexer.py). Left to the scheduler on two cores, the helpers took turns on the
ingest's core: its process was runnable 92% of the time and ran 85%. The helpers have
slack (the writer waits for batches half the time; the follower may fall behind and catch
up while the run derives sessions on one core), so they are kept off one core, which the
ingest's process then has to itself: at 150k messages the reads end ~13% sooner
(benchmarks/RESULTS.md). The ingest's process itself is not pinned: the scheduler may still
move it where another program leaves room.
"""

from __future__ import annotations

import contextlib
import os


def leave_first_core() -> set[int] | None:
    """Keep this process off the first of the cores it may run on. Returns the cores it had
    (for `keep_to`, once its work may use them all), or None when nothing changed: one core
    only, or an OS that does not set affinity."""
    try:
        cores = os.sched_getaffinity(0)
        if len(cores) < 2:
            return None
        os.sched_setaffinity(0, set(sorted(cores)[1:]))
    except (AttributeError, OSError, ValueError):
        return None
    return cores


def keep_to(cores: set[int] | None) -> None:
    """Run this process on `cores` from now on (nothing when None or refused)."""
    if cores:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            os.sched_setaffinity(0, cores)
