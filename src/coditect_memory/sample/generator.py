"""A realistic, generated `~/.claude` folder, and the truth about what it holds.

`generate(out_dir, sessions=60, messages=None, seed=7)` writes transcripts (main sessions,
both sub-agent layouts, large tool outputs), history.jsonl, todos, tasks, plans, debug logs,
file-history versions, shell snapshots and session-env folders for ~16 projects over the 90
days before a fixed date, as Claude Code 1.0.9x to 2.1.x would. Everything is drawn from
`random.Random(seed)`, so a seed always gives the same bytes; files are streamed to disk,
so memory stays flat however many messages are asked for. It returns the truth (truth.py).

One module per source kind writes its files (transcripts.py and the steps, tools, responses
and compaction it is made of; history.py, debug.py, file_history.py, todos.py, plans.py,
shell.py, session_env.py, settings_files.py), each a layer over core.py's shared state;
`Generator` stacks them and runs the schedule (schedule.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .core import DAY_MS, Session, day, iso
from .plans import Plans
from .schedule import schedule
from .session_env import SessionEnv
from .settings_files import SettingsFiles
from .shell import Shell
from .transcripts import Transcripts
from .truth import truth


def generate(out_dir: Path | str, sessions: int = 60, messages: int | None = None,
             seed: int = 7) -> dict[str, Any]:
    """Write a ~/.claude-like folder at `out_dir`; return the truth about it (see truth.py)."""
    return Generator(Path(out_dir), seed).run(sessions, messages)


class Generator(Transcripts, Plans, SessionEnv, Shell, SettingsFiles):
    """All the writers stacked: runs the schedule session by session, then the global files."""

    def run(self, sessions: int, messages: int | None) -> dict[str, Any]:
        self._mkdir(self.out)
        plan = schedule(self.rng, sessions, messages)
        hist_path = self.out / "history.jsonl"
        planned_total = actual_total = 0
        with open(hist_path, "wb", buffering=1 << 20) as hist:
            for i, (start, project, vi, budget, deleted) in enumerate(plan):
                if deleted:
                    self._deleted_session(start, project, vi)
                else:
                    planned_total += budget
                    carry = planned_total - actual_total - budget if messages is not None else 0
                    s = self._session(start, project, vi, max(6, budget + carry))
                    self._session_files(s)
                    self._close_session(s)
                    actual_total += s.rows
                self._flush_history(hist, plan[i + 1][0] if i + 1 < len(plan) else None)
        self._close_history(hist_path)
        self._sessions_indexes()
        self._memory_notes()
        self._settings_files()
        self._paste_cache()
        return truth(self, messages)

    def _session_files(self, s: Session) -> None:
        """The files a session leaves besides its transcript, in the order the seed expects."""
        self._close_debug(s)
        todos = s.todos if s.todos and self.random() < 0.5 else []
        self._todo_file(s, f"todos/{s.sid}-agent-{s.sid}.json", todos)
        self._task_files(s)
        self._plan_file(s)
        self._session_env(s)
        self._shell_snapshot(s)
        self._index_entry(s)

    def _close_session(self, s: Session) -> None:
        self.t_by_source["transcript"] += s.stats["transcript_messages"]
        cwd = s.cwd
        self.projects_used.add(cwd)
        self._count_day("sessions", cwd, day(s.first))
        self.per_project[cwd]["transcript_messages"] += s.undated
        for n, (rows, prompts, calls, errors) in s.daily.items():
            d = day(n * DAY_MS)
            self._count_day("transcript_messages", cwd, d, rows)
            self._count_day("prompts", cwd, d, prompts)
            self._count_day("tool_calls", cwd, d, calls)
            self._count_day("tool_errors", cwd, d, errors)
        self.per_session[s.sid] = {"project": cwd, "version": s.version, "git_branch": s.branch,
                                   "started_at": iso(s.first), "ended_at": iso(s.end),
                                   "history_only": False, **s.stats}
