"""Named points where a test can make the process die as a SIGKILL would, so crash-safety
tests hit each window of a multi-step write exactly instead of racing a timer. Inert unless
MEMORY_FAILPOINT names the point (one environment lookup)."""

from __future__ import annotations

import os
import signal


def failpoint(name: str) -> None:
    if os.environ.get("MEMORY_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
