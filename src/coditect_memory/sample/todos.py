"""todos/<session>-agent-<id>.json and tasks/<session>/<n>.json: the to-do lists and tasks."""

from __future__ import annotations

import orjson

from .core import Core, Session, dumps


class Todos(Core):
    """Writes to-do lists and task files."""

    def _todo_file(self, s: Session, rel: str, items: list) -> None:
        self._write_file(rel, dumps(items, option=orjson.OPT_INDENT_2), "todo", s.end,
                         s if items else None)
        if items:
            self.t_by_source["todo"] += 1
            s.stats["messages"] += 1

    def _task_files(self, s: Session) -> None:
        for i, task in enumerate(s.tasks, 1):
            task = {**task, "status": self.choice(("completed", "completed", "in_progress", "pending"))}
            self._write_file(f"tasks/{s.sid}/{i}.json", dumps(task, option=orjson.OPT_INDENT_2),
                             "todo", s.end, s)
            self.t_by_source["todo"] += 1
            s.stats["messages"] += 1
