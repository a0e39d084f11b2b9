"""One writer at a time: an advisory lock next to the store, freed by the kernel even on
SIGKILL, so a killed run never blocks the next one."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from ..errors import StoreLocked


class IngestLock:
    def __init__(self, home: Path, wait_seconds: float) -> None:
        self.path = home / "ingest.lock"
        self.wait = wait_seconds
        self.fd: int | None = None

    def __enter__(self) -> IngestLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise StoreLocked(
                        f"another `memory ingest` (pid {holder}) is writing to this store; "
                        f"waited {self.wait:g} s — try again when it has finished") from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
