"""Which cores an ingest's helper processes run on.

A first ingest runs three processes: its own (reading, masking, building rows: the critical
path of the read phase), the writer (store/sqlite/behind.py) and the keyword-index follower
(search/indexer.py). Left to the scheduler on two cores, the helpers took turns on the
ingest's core: its process was runnable 92% of the time and ran 85%. The helpers have
slack (the writer waits for batches half the time; the follower may fall behind and catch
up while the run derives sessions on one core), so they are kept off one core, which the
ingest's process then has to itself: at 150k messages a first ingest took 33.3 s instead
of 35.7 (median of five, alternated), and its reads ended ~9% sooner
(benchmarks/RESULTS.md). The ingest's process itself is not pinned: the scheduler may still
move it where another program leaves room.
"""

from __future__ import annotations

import contextlib
import os


def leave_first_core() -> set[int] | None:
    """Keep this process (each of its threads: Linux sets affinity per thread) off the first
    of the cores it may run on. Returns the cores it had (for `keep_to`, once its work may
    use them all), or None when nothing changed: one core only, or an OS that does not set
    affinity."""
    try:
        cores = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None
    if len(cores) < 2:
        return None
    return cores if _set(set(sorted(cores)[1:])) else None


def keep_to(cores: set[int] | None) -> None:
    """Run this process (each of its threads) on `cores` from now on (nothing when None)."""
    if cores:
        _set(cores)


def _set(cores: set[int]) -> bool:
    """Every thread's affinity (a thread started later inherits its starter's); False when
    refused."""
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    done = False
    for tid in threads:
        with contextlib.suppress(OSError, ValueError):  # a thread that just ended
            os.sched_setaffinity(tid, cores)
            done = True
    return done
