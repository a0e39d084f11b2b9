"""Whether a process is still there: what stale locks, claims and runs are judged by."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while `pid` runs (someone else's process counts: we may not signal it, but it is
    there); signal 0 checks without sending anything."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
