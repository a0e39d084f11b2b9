"""~/.claude/history.jsonl: every prompt typed, across projects (often all that survives
Claude Code's cleanup)."""

from __future__ import annotations

from collections.abc import Iterator

from ..hashing import uid
from ..timeutil import parse_ts
from .base import Issue, Record
from .jsonl import read_objects
from .read_context import ReadContext


def read_history(ctx: ReadContext) -> Iterator[Record | Issue]:
    return read_objects(ctx, _line)


def _line(obj: dict, no: int, offset: int) -> tuple[Record]:
    display = obj.get("display")
    display = display if isinstance(display, str) else ("" if display is None else str(display))
    pasted = obj.get("pastedContents")
    text = display
    if isinstance(pasted, dict):
        extra = [p["content"] for p in pasted.values()
                 if isinstance(p, dict) and isinstance(p.get("content"), str)]
        if extra:
            text = "\n".join([display, *extra])
    ts = parse_ts(obj.get("timestamp"))
    session = obj.get("sessionId")
    project = obj.get("project")
    meta = {k: v for k, v in obj.items() if k not in ("display", "timestamp", "sessionId")}
    return (Record(uid=uid("history", session, project, obj.get("timestamp"), display, ts=ts),
                   kind="history", type="user", role="user", content=text, session_id=session,
                   ts=ts, line=no, offset=offset, project=project, metadata=meta),)
