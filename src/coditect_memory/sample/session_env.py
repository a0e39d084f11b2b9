"""session-env/<session>/: the environment a SessionStart hook exported (2.0 and later)."""

from __future__ import annotations

from .core import V2_0, Core, Session


class SessionEnv(Core):
    """Writes session-env/ folders."""

    def _session_env(self, s: Session) -> None:
        """The folder for every session; a hook script in a few."""
        if s.vi >= V2_0:
            self._mkdir(self.out / "session-env" / s.sid)
            if self.random() < 0.06 or self._force("session_env"):
                body = f"export VIRTUAL_ENV={s.cwd}/.venv\nexport PATH={s.cwd}/.venv/bin:$PATH\n"
                self._write_file(f"session-env/{s.sid}/sessionstart-hook-0.sh", body.encode(),
                                 "session_env", s.start + 5, s)
                self.t_by_source["session_env"] += 1
                s.stats["messages"] += 1
                self._mark("session_env")
