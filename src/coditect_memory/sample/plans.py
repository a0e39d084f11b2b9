"""plans/<slug>.md (what ExitPlanMode approved) and a project's memory notes."""

from __future__ import annotations

from . import vocab as V
from .core import END_MS, Core, Session, folder_name


class Plans(Core):
    """Writes plan files and memory notes."""

    def _plan_file(self, s: Session) -> None:
        if s.slug:
            self._write_file(f"plans/{s.slug}.md", s.plan.encode(), "plan", s.end)
            self.t_by_source["plan"] += 1
            s.stats["messages"] += 1  # the session's: its transcript carries the slug

    def _memory_notes(self) -> None:
        core = V.PROJECTS[0][0]
        if core in self.projects_used:
            note = ("# Project memory\n\n- Tests: `uv run pytest -q`; the DB fixture needs Docker.\n"
                    "- Never edit generated files under `src/coditect/_gen/`.\n"
                    "- Token refresh lives in `auth/tokens.py`; clock skew is 30 s.\n")
            self._write_file(f"projects/{folder_name(core)}/memory/MEMORY.md", note.encode(), "plan", END_MS)
            self.t_by_source["plan"] += 1
