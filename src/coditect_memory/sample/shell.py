"""shell-snapshots/: the shell functions and aliases captured when a session starts."""

from __future__ import annotations

from . import vocab as V
from .core import Core, Session


class Shell(Core):
    """Writes shell snapshots."""

    def _shell_snapshot(self, s: Session) -> None:
        if self.random() < 0.45 or self._force("shell_snapshot"):
            shell = "zsh" if self.random() < 0.85 else "bash"
            funcs = "\n".join(self.rng.sample(V.SHELL_FUNCS, self.randint(2, len(V.SHELL_FUNCS))))
            body = V.SHELL_SNAPSHOT.format(functions=funcs)
            rand = "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=6))
            self._write_file(f"shell-snapshots/snapshot-{shell}-{s.start}-{rand}.sh", body.encode(),
                             "shell_snapshot", s.start)
            self.t_by_source["shell_snapshot"] += 1
            self._mark("shell_snapshot")
