"""debug/<session>.txt: the debug log Claude Code 2.0 and later keeps per session."""

from __future__ import annotations

import os

from . import vocab as V
from .core import V2_0, Core, Session, iso


class Debug(Core):
    """Writes a session's debug log as the session goes (a no-op for sessions without one)."""

    def _open_debug(self, s: Session) -> None:
        if s.vi < V2_0 or self.random() < 0.12:
            return
        path = self.out / "debug" / f"{s.sid}.txt"
        self._mkdir(path.parent)
        s.dbg = open(path, "w", encoding="utf-8", buffering=1 << 18)  # noqa: SIM115
        s.dbg_path = path
        s.dbg_t = s.start
        for line in V.DEBUG_STARTUP:
            self._dbg(s, line.format(version=s.version, entry=s.entry, lang=s.lang, cwd=s.cwd,
                                     branch=s.branch, ms=s.start, rand=self._hex(6),
                                     n=self.randint(1, 400)), step=37)

    def _dbg(self, s: Session, text: str, step: int = 3) -> None:
        if s.dbg is None:
            return
        t = max(s.t, s.dbg_t + step)
        s.dbg_t = t
        if self.random() < 0.004:
            err = self.choice(V.DEBUG_ERRORS).replace("{cwd}", s.cwd)
            s.dbg.write(f"{iso(t)} {err}\n")
            self._debug_entry(s, err, t)
            t += 1
            s.dbg_t = t
        elif self.random() < 0.01:
            extra = self.choice(V.DEBUG_MISC).format(n=s.ctx // 1000)
            s.dbg.write(f"{iso(t)} {extra}\n")
            self._debug_entry(s, extra, t)
            t += 1
            s.dbg_t = t
        s.dbg.write(f"{iso(t)} {text}\n")
        self._debug_entry(s, text, t)

    def _debug_entry(self, s: Session, text: str, t: int) -> None:
        self._seen(s, t)
        self.debug_entries += 1
        s.stats["messages"] += 1
        if text.startswith("[ERROR]"):
            s.stats["error_rows"] += 1

    def _close_debug(self, s: Session) -> None:
        if s.dbg is not None:
            s.dbg.close()
            os.utime(s.dbg_path, (s.end / 1000, s.end / 1000))
            self.files["debug"][0] += 1
            self.files["debug"][1] += s.dbg_path.stat().st_size
