"""Text drawn for a session: templates filled in, code lines cut from the pool, file names."""

from __future__ import annotations

from typing import Any

from . import vocab as V
from .core import Core, Session


class Slots(dict):
    """Placeholder values drawn on first use, so a template costs only what it names."""

    def __init__(self, gen: Text, s: Session) -> None:
        super().__init__()
        self.gen, self.s = gen, s

    def __missing__(self, key: str) -> Any:
        value = self[key] = self.gen._slot(self.s, key)
        return value


class Text(Core):
    """Draws the text of a session: filled-in templates, code lines, file names."""

    def _lines(self, lang: str, n: int) -> list[str]:
        pool = self.pools[lang]
        start = self.randint(0, len(pool) - 1)
        if n <= len(pool) - start:
            return pool[start:start + n]
        out = pool[start:]
        while len(out) < n:
            out.extend(pool[: n - len(out)])
        return out

    def _fill(self, s: Session, template: str) -> str:
        """A template with its {placeholders} drawn for this session (only those it uses)."""
        if "{" not in template:
            return template
        return template.format_map(Slots(self, s))

    def _slot(self, s: Session, key: str) -> Any:
        lang = V.LANG[s.lang]
        ch = self.choice
        if key in ("file", "file2"):
            return self._file(s)
        simple = {"test": lang["tests"], "func": lang["funcs"], "dep": lang["deps"],
                  "cmd": lang["test"] + lang["other"], "branch": s.branches, "ident": V.IDENTS,
                  "ident2": V.IDENTS, "fix": V.FIXES, "cause": V.CAUSES, "task": V.TASKS,
                  "commit": V.COMMITS}.get(key)
        if simple is not None:
            return ch(simple)
        if key == "cwd":
            return s.cwd
        if key == "trace":
            return "\n".join(V.TRACE).replace("{cwd}", s.cwd)
        if key == "error":
            return ch(V.ERRORS).replace("{cwd}", s.cwd).replace("{ident}", ch(V.IDENTS))
        if key == "sha":
            return self._hex(7)
        if key == "num":
            return self.randint(12, 980)
        return self.randint(3, 412)  # n

    def _file(self, s: Session) -> str:
        pkg = V.PKG.get(s.cwd.rsplit("/", 1)[-1], "app")
        return self.choice(V.LANG[s.lang]["files"]).replace("{pkg}", pkg)
