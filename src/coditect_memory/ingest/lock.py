"""One writer at a time: an advisory lock next to the store, freed by the kernel even on
SIGKILL, so a killed run never blocks the next one."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from ..errors import StoreLocked

_PID_WIDTH = 16  # the pid, padded: the note of a failed run follows it
_NOTE_MAX = 2048


def _note(data: bytes) -> tuple[int, str] | None:
    """The (run id, message) a failed run left after its pid, if any."""
    _, _, note = data.partition(b"\n")
    run_id, _, message = note.decode(errors="replace").rstrip().partition("\t")
    return (int(run_id), message) if run_id.isdigit() and message else None


class IngestLock:
    def __init__(self, home: Path, wait_seconds: float) -> None:
        self.path = home / "ingest.lock"
        self.wait = wait_seconds
        self.fd: int | None = None
        self.left: tuple[int, str] | None = None  # (run id, why it failed) left by a run before

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
                    holder = os.pread(fd, 32, 0).decode(errors="replace").split("\n")[0].strip() or "?"
                    os.close(fd)
                    raise StoreLocked(
                        f"another `memory ingest` (pid {holder}) is writing to this store; "
                        f"waited {self.wait:g} s — try again when it has finished") from None
                time.sleep(0.1)
        self.left = _note(os.pread(fd, _NOTE_MAX, 0))
        os.pwrite(fd, str(os.getpid()).encode().ljust(_PID_WIDTH), 0)
        if self.left is None:
            os.ftruncate(fd, _PID_WIDTH)
        self.fd = fd
        return self

    def note_recorded(self) -> None:
        """The note `left` is in the store now: drop it (kept until then, should this run
        fail to write to the store too)."""
        if self.fd is not None and self.left is not None:
            os.ftruncate(self.fd, _PID_WIDTH)
            self.left = None

    def leave_note(self, run_id: int, message: str) -> bool:
        """Keep why run `run_id` failed when the store cannot record it (a full disk): written
        into this file's first block, which the pid already holds, so it needs no new space.
        The next run reads it (`left`) and records it. False when even this failed."""
        if self.fd is None:
            return False
        text = f"\n{run_id}\t{message}".encode()[:_NOTE_MAX - _PID_WIDTH].ljust(_NOTE_MAX - _PID_WIDTH)
        try:
            os.pwrite(self.fd, text, _PID_WIDTH)
        except OSError:
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
