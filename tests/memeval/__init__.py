"""Planted multi-session histories for the memory tests and the evaluation
(benchmarks/eval_memory.py): real transcript lines with known decisions, preferences, facts,
errors and their fixes, and todos, spread over sessions and weeks, among filler turns."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.builders import assistant, line, sid, user


@dataclass
class Planted:
    kind: str  # preference, decision, fact, error_fix, todo
    evidence: str  # words the pack must hold for the item to count as there
    question: str  # how a person would ask about it later
    session: int  # which session it was said in
    project: str = "webapp"


@dataclass
class History:
    root: Path
    planted: list[Planted] = field(default_factory=list)


def _tool_use(session: str, i: int, name: str, args: dict[str, Any], cwd: str, day: int) -> dict[str, Any]:
    obj = assistant(session, i, "", cwd, day)
    obj["message"]["content"] = [{"type": "tool_use", "id": f"toolu_{session[-6:]}_{i}",
                                  "name": name, "input": args}]
    return obj


def _tool_result(session: str, i: int, text: str, error: bool, cwd: str, day: int) -> dict[str, Any]:
    obj = user(session, i, "", cwd, day)
    obj["message"]["content"] = [{"type": "tool_result", "tool_use_id": f"toolu_{session[-6:]}_{i - 1}",
                                  "content": text, "is_error": error}]
    return obj


FILLER = ["look at the logs of the last deploy", "rename the helper in utils to something clearer",
          "add a test for the empty cart case", "why is the dashboard slow on first load",
          "bump the lint config to the new rules", "write docs for the export endpoint"]


def build(root: Path, sessions: int = 8, projects: tuple[str, ...] = ("webapp", "billing"),
          end: datetime | None = None) -> History:
    """Write ~/.claude-like transcripts: `sessions` per project, one planted item of each kind
    spread over them (the rest filler), days apart, the last session two days before `end`
    (default: now)."""
    h = History(root)
    n = 0
    base = (end or datetime.now(UTC)) - timedelta(days=sessions * 9 + 2)
    for p_index, project in enumerate(projects):
        cwd = f"/home/dev/{project}"
        slug = cwd.replace("/", "-")
        for s in range(sessions):
            session = sid(100 * p_index + s)
            day = s * 9 + p_index  # weeks of history
            lines: list[dict[str, Any]] = []
            i = 0

            def say(text: str, who: str = "user") -> None:
                nonlocal i
                lines.append((user if who == "user" else assistant)(session, i, text, cwd, day))  # noqa: B023
                i += 1

            for f in FILLER[s % len(FILLER):][:2]:
                say(f"{f} in {project}")
                say("Done: I looked at it and made the change.", "assistant")
            tag = f"{project}{s}"
            if s == 0:
                say(f"Always use uv, not pip, for {project}. Run the tests before you commit.")
                h.planted.append(Planted("preference", "use uv, not pip",
                                         "which package manager do I want here?", s, project))
            if s == 1:
                say(f"We decided to use PostgreSQL advisory locks for the {project} job queue.", "assistant")
                h.planted.append(Planted("decision", "advisory locks",
                                         "what did we choose for the job queue locking?", s, project))
            if s == 2:
                cmd = f"pytest tests/test_{tag}.py -q"
                lines.append(_tool_use(session, i, "Bash", {"command": cmd}, cwd, day))
                i += 1
                lines.append(_tool_result(session, i, "FAILED tests/test_x.py::test_refund - KeyError: 'currency'\n1 failed", True, cwd, day))
                i += 1
                lines.append(_tool_use(session, i, "Edit", {"file_path": f"{cwd}/src/refunds.py", "old_string": "a", "new_string": "b"}, cwd, day))
                i += 1
                lines.append(_tool_result(session, i, "The file has been updated.", False, cwd, day))
                i += 1
                lines.append(_tool_use(session, i, "Bash", {"command": cmd}, cwd, day))
                i += 1
                lines.append(_tool_result(session, i, "12 passed in 0.4s", False, cwd, day))
                i += 1
                h.planted.append(Planted("error_fix", "refunds.py",
                                         "how did we fix the refund test KeyError?", s, project))
            if s == 3:
                say(f"Never mock the database in the {project} tests; use the docker fixture.")
                h.planted.append(Planted("preference", "never mock the database",
                                         "can I mock the database in tests?", s, project))
            if s == 4:
                todos = [{"content": f"Add rate limiting to the {project} login endpoint",
                          "status": "pending", "activeForm": "Adding rate limiting"},
                         {"content": "Write the changelog", "status": "completed",
                          "activeForm": "Writing the changelog"}]
                lines.append(_tool_use(session, i, "TodoWrite", {"todos": todos}, cwd, day))
                i += 1
                h.planted.append(Planted("todo", "rate limiting",
                                         "what was left open last time?", s, project))
            if s == 5:
                say(f"Let's go with Redis streams for the {project} event bus.", "assistant")
                h.planted.append(Planted("decision", "redis streams",
                                         "when did we pick the event bus, and what was it?", s, project))
            for k, obj in enumerate(lines):  # weeks ago, not in 2025: decay runs on today's clock
                obj["timestamp"] = (base + timedelta(days=day, seconds=k)).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z")
            path = root / "projects" / slug / f"{session}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"".join(line(o) for o in lines))
            n += len(lines)
        note = root / "projects" / slug / "memory" / "MEMORY.md"
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"# Project memory\n\n- The {project} API listens on port 8042 in development.\n")
        written = (base + timedelta(days=sessions * 9)).timestamp()  # with the sessions, not today
        os.utime(note, (written, written))
        h.planted.append(Planted("fact", "port 8042", "which port does the dev API use?", 0, project))
    return h
