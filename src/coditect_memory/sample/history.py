"""history.jsonl (every prompt typed, in time order, including sessions whose transcripts
are gone) and paste-cache/ (the long pastes it refers to)."""

from __future__ import annotations

import heapq
import os
from pathlib import Path
from typing import IO, Any

from . import vocab as V
from .core import END_MS, HISTORY_SID, NL, Session, day, dumps, iso
from .text import Text


class History(Text):
    """Collects history.jsonl lines (from every session) and writes them in time order."""

    def _history(self, s: Session | None, ts: int, display: str, project: str, sid: str | None,
                 pasted: dict | None = None) -> None:
        obj: dict[str, Any] = {"display": display, "pastedContents": pasted or {}, "timestamp": ts,
                               "project": project}
        if sid is not None:
            obj["sessionId"] = sid
        else:
            self.history_without_session += 1
        if s is not None:  # a line without sessionId joins the session its prompt is linked to
            s.stats["messages"] += 1
            self._seen(s, ts)
        self.history_seq += 1
        heapq.heappush(self.history_heap, (ts, self.history_seq, dumps(obj, option=NL)))
        self.history_lines += 1
        self.t_by_source["history"] += 1
        self.projects_used.add(project)

    def _deleted_session(self, start: int, project: int, vi: int) -> None:
        cwd = V.PROJECTS[project][0]
        sid = self._uuid()
        has_sid = vi >= HISTORY_SID  # older history lines have no sessionId
        s = Session(sid, start, project, vi, 0)
        t = first = start + self.randint(2000, 30000)
        n = self.randint(1, 6)
        for k in range(n):
            text = self._fill(s, self.choice(V.PROMPTS if k == 0 else V.FOLLOWUPS))
            self._history(None, t, text, cwd, sid if has_sid else None)
            self._count_day("history_only_prompts", cwd, day(t))
            t += self.randint(40_000, 1_500_000)
        if has_sid:
            self._count_day("history_only_sessions", cwd, day(first))
            self.per_session[sid] = {"project": cwd, "history_only": True, "messages": n,
                                     "started_at": iso(first), "prompts": 0}
        self._mark("history_only_session")

    def _flush_history(self, hist: IO[bytes], until: int | None) -> None:
        """Write the lines stamped before `until` (all if None): no later session precedes them."""
        heap = self.history_heap
        while heap and (until is None or heap[0][0] < until):
            hist.write(heapq.heappop(heap)[2])

    def _close_history(self, path: Path) -> None:
        self.files["history"][0] += 1
        self.files["history"][1] += path.stat().st_size
        os.utime(path, (END_MS / 1000, END_MS / 1000))

    def _paste_cache(self) -> None:
        for i in range(2):
            self._write_file(f"paste-cache/{self._hex(16)}.txt",
                             "\n".join(V.TRACE).replace("{cwd}", "/home/dev/work").encode() + b"\n" * i,
                             "history", END_MS)
            self.pastes += 1
