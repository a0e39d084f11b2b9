"""`memory hook EVENT`: what Claude Code's hooks run, with the event JSON on stdin.

Hooks fail open: whatever goes wrong, the hook exits 0 and writes one line to
`$MEMORY_HOME/hooks.log`, so Claude Code is never blocked by us.

- session-start prints `{"hookSpecificOutput": {"hookEventName": "SessionStart",
  "additionalContext": PACK}}`: the context pack for the event's `cwd`, read-only and small
  ([memories] hook_budget tokens; Claude Code only previews output over 10,000 characters).
- stop, subagent-stop, pre-compact, session-end start a detached worker that ingests the
  event's transcript (only that file, from where the last run stopped), updates the search
  index and extracts memories, then return at once. Workers queue on the ingest lock: one
  at a time per store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..settings import Settings

CAPTURE_EVENTS = ("stop", "subagent-stop", "pre-compact", "session-end")
EVENTS = ("session-start", *CAPTURE_EVENTS)
CONTEXT_CHAR_LIMIT = 10_000  # Claude Code saves longer hook output to a file, showing a preview


def log(settings: Settings, event: str, message: str) -> None:
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        with open(settings.home / "hooks.log", "a", encoding="utf-8") as f:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            f.write(f"{stamp} {event} pid={os.getpid()} {' '.join(message.split())}\n")
    except OSError:
        pass  # nowhere to say it: failing open still


def session_start(settings: Settings, event: dict[str, Any]) -> str:
    """The JSON Claude Code adds to the new session's context ('' when there is no store)."""
    from ..actions.context import ContextRequest, context
    from ..store import open_store

    if not settings.db_path.exists() and not settings.database_url:
        return ""
    cwd = str(event.get("cwd") or os.getcwd())
    with open_store(settings, readonly=True) as store:
        pack = context(store, settings, ContextRequest(
            cwd=cwd, budget=settings.memories.hook_budget, record=False, unknown_ok=True))
    text = pack.markdown
    if len(text) > CONTEXT_CHAR_LIMIT:  # a budget set too high: cut, never previewed away
        text = text[:CONTEXT_CHAR_LIMIT - 40].rsplit("\n", 1)[0] + "\n…(pack cut at 10,000 characters)\n"
    import orjson

    return orjson.dumps({"hookSpecificOutput": {"hookEventName": "SessionStart",
                                                "additionalContext": text}}).decode()


def start_capture(settings: Settings, event_name: str, event: dict[str, Any]) -> None:
    """Start the detached worker for the event's transcript and return."""
    path = event.get("transcript_path")
    if not isinstance(path, str) or not path:
        log(settings, event_name, "no transcript_path in the event: nothing to capture")
        return
    settings.home.mkdir(parents=True, exist_ok=True)  # the first capture makes the store
    logfile = open(settings.home / "hooks.log", "a", encoding="utf-8")  # noqa: SIM115 - the child's
    with logfile:
        subprocess.Popen([sys.executable, "-m", "coditect_memory.hooks.worker", event_name, path],
                         stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile,
                         start_new_session=True, close_fds=True, env={**os.environ})


def transcript_root(path: Path, claude_root: Path) -> tuple[Path, str]:
    """(root, file relative to it): the Claude folder that holds `projects/.../x.jsonl`, so
    the file is recorded as a full ingest of that folder would record it."""
    path = path.absolute()
    for parent in path.parents:
        if parent.name == "projects":
            return parent.parent, path.relative_to(parent.parent).as_posix()
    try:
        return claude_root, path.relative_to(claude_root.absolute()).as_posix()
    except ValueError:
        return path.parent, path.name
