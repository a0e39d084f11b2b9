"""Whole-file sources: todos, tasks, plans, file versions, shell snapshots, session env,
large tool outputs, sub-agent sidecars, workflow records and session indexes.

Each distinct content of a file is one record (a todo list that changes keeps every
state); `source_line` is null for them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator, Iterator
from typing import Any

from ..hashing import sha256_file, uid
from ..timeutil import parse_ts
from .base import Issue, Record, loads_lenient
from .read_context import ReadContext
from .text import flatten


def read_bytes(ctx: ReadContext) -> bytes | None:
    """The whole file; the watermark becomes its size and hash."""
    if ctx.size > ctx.config.ingest.max_line_bytes:
        return None
    with open(ctx.path, "rb") as f:
        data = f.read()
    ctx.end.offset = len(data)
    ctx.end.prefix_sha256 = ctx.end.sha256 = hashlib.sha256(data).hexdigest()
    return data


def _too_big(ctx: ReadContext) -> Issue:
    """Report a file over the limit; its checksum makes the next run skip it while unchanged."""
    ctx.end.offset = ctx.size
    ctx.end.sha256 = sha256_file(str(ctx.path))
    return Issue(f"file of {ctx.size / 1e6:.1f} MB exceeds the {ctx.config.ingest.max_line_bytes >> 20} MiB"
                 " limit (raise ingest.max_line_mb in config.toml); skipped")


def decode_text(data: bytes) -> tuple[str, str | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        return data.decode("utf-8", "replace"), f"invalid UTF-8 at byte {e.start}; stored with U+FFFD replacements"


def load_json(ctx: ReadContext) -> Generator[Issue, None, Any]:
    """Parse a whole JSON file; yields Issues, returns the value or None."""
    data = read_bytes(ctx)
    if data is None:
        yield _too_big(ctx)
        return None
    if not data.strip():
        yield Issue("empty file: nothing to read", severity="warning")
        return None
    if b"\x00" in data[:8192]:
        yield Issue("binary file (NUL bytes): not JSON; skipped")
        return None
    try:
        obj, note = loads_lenient(data)
    except ValueError as e:
        yield Issue(f"{e}; file skipped")
        return None
    if note:
        yield Issue(note, severity="warning")
    return obj


def _file_ts(ctx: ReadContext) -> int:
    return int(ctx.path.stat().st_mtime * 1000)


# Keys that date a JSON document (workflow runs, session indexes): its content's own time,
# not the file's mtime, which a copy or a restore sets to "today".
_TIME_KEYS = frozenset(("timestamp", "created", "createdAt", "created_at", "modified",
                        "updatedAt", "updated_at", "startedAt", "started_at", "endedAt",
                        "completedAt"))


def inner_ts(obj: object, budget: int = 10_000) -> int | None:
    """The latest time a JSON document states under a time-like key, at any depth (at most
    `budget` objects looked at); None when it states none."""
    best: int | None = None
    stack = [obj]
    while stack and budget > 0:
        o = stack.pop()
        budget -= 1
        items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else ()
        for k, v in items:
            if isinstance(v, dict | list):
                stack.append(v)
            elif k in _TIME_KEYS and (t := parse_ts(v)) is not None:
                best = t if best is None else max(best, t)
    return best


def read_todos(ctx: ReadContext) -> Iterator[Record | Issue]:
    """todos/<session>-agent-<agent>.json: the TodoWrite list, one record per distinct state."""
    items = yield from load_json(ctx)
    if items is None:
        return
    if not isinstance(items, list):
        yield Issue("todo file is not a JSON array; kept verbatim", severity="warning")
        items = [items]
    if not items:
        return  # an empty list: nothing to remember (most todo files)
    lines = []
    for it in items:
        if isinstance(it, dict):
            lines.append(f"[{it.get('status', '?')}] {it.get('content', flatten(it))}")
        else:
            lines.append(str(it))
    text = "\n".join(lines)
    yield Record(uid=uid("todo", ctx.relpath.rsplit("/", 1)[-1], ctx.end.prefix_sha256), kind="todo",
                 type="todos", content=text, session_id=ctx.session_hint, agent_id=ctx.agent_hint,
                 ts=_file_ts(ctx), metadata={"items": items})


def read_task(ctx: ReadContext) -> Iterator[Record | Issue]:
    """tasks/<session>/<n>.json: one TaskCreate task."""
    task = yield from load_json(ctx)
    if task is None:
        return
    if isinstance(task, dict):
        text = f"[{task.get('status', '?')}] {task.get('subject', '')}\n{task.get('description', '')}".strip()
    else:
        text = flatten(task)
    yield Record(uid=uid("task", ctx.relpath, ctx.end.prefix_sha256), kind="todo", type="task",
                 content=text, session_id=ctx.session_hint, ts=_file_ts(ctx),
                 metadata={"task": task})


def _text_record(ctx: ReadContext, kind: str, rtype: str, session: str | None,
                 ts: int | None = None, **extra: Any) -> Iterator[Record | Issue]:
    data = read_bytes(ctx)
    if data is None:
        yield _too_big(ctx)
        return
    if not data:
        yield Issue("empty file: nothing to read", severity="warning")
        return
    text, note = decode_text(data)
    if note:
        yield Issue(note, severity="warning")
    yield Record(uid=uid(kind, rtype, ctx.relpath, ctx.end.prefix_sha256), kind=kind, type=rtype,
                 content=text, session_id=session, ts=ts if ts is not None else _file_ts(ctx),
                 **extra)


def plan_slug(path: str) -> str:
    """The session slug a plan file is named after: plans/<slug>.md, a sub-agent's
    plans/<slug>-agent-<id>.md."""
    name = path.rsplit("/", 1)[-1]
    return name[:-3].split("-agent-")[0] if name.endswith(".md") else name


def read_plan(ctx: ReadContext) -> Iterator[Record | Issue]:
    """plans/<slug>.md (plan mode) and projects/<slug>/memory/*.md (auto-memory notes)."""
    name = ctx.relpath.rsplit("/", 1)[-1]
    rtype = "memory_note" if "/memory/" in f"/{ctx.relpath}" else "plan"
    meta = {"slug": plan_slug(name), "name": name}
    if rtype == "memory_note":  # projects/<slug>/memory/: a project's notes, not a session's
        meta["project_slug"] = ctx.relpath.split("/memory/", 1)[0].rsplit("/", 1)[-1]
    yield from _text_record(ctx, "plan", rtype, None, metadata=meta)


def read_paste(ctx: ReadContext) -> Iterator[Record | Issue]:
    """paste-cache/<hash>.txt: a long paste that history.jsonl refers to by its hash."""
    stem = ctx.relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    yield from _text_record(ctx, "history", "paste", None, role="user",
                            metadata={"content_hash": stem})


def read_shell_snapshot(ctx: ReadContext) -> Iterator[Record | Issue]:
    """shell-snapshots/snapshot-<shell>-<epoch ms>-<rand>.sh: global, not per session."""
    name = ctx.relpath.rsplit("/", 1)[-1]
    m = re.match(r"snapshot-(\w+)-(\d{12,14})-", name)
    ts = parse_ts(int(m.group(2))) if m else None
    meta = {"shell": m.group(1)} if m else None
    yield from _text_record(ctx, "shell_snapshot", "shell_snapshot", None, ts, metadata=meta)


def read_session_env(ctx: ReadContext) -> Iterator[Record | Issue]:
    yield from _text_record(ctx, "session_env", "session_env", ctx.session_hint,
                            metadata={"name": ctx.relpath.rsplit("/", 1)[-1]})


def read_tool_output(ctx: ReadContext) -> Iterator[Record | Issue]:
    """projects/<slug>/<session>/tool-results/<id>.txt: a tool output too large for the line."""
    stem = ctx.relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    yield from _text_record(ctx, "transcript", "tool_output", ctx.session_hint,
                            tool_use_id=stem, role="user")


def read_file_version(ctx: ReadContext) -> Iterator[Record | Issue]:
    """file-history/<session>/<hash>@v<N>: a file's content before an edit, stored once."""
    data = read_bytes(ctx)
    if data is None:
        yield _too_big(ctx)
        return
    name = ctx.relpath.rsplit("/", 1)[-1]
    m = re.search(r"@v(\d+)$", name)
    meta = {"backup": name, "file_key": name.split("@", 1)[0],
            "version": int(m.group(1)) if m else None, "bytes": len(data),
            "binary": b"\x00" in data[:8192]}
    yield Record(uid=uid("file_history", ctx.session_hint, name), kind="file_history",
                 type="file_version", content=None, blob=data, session_id=ctx.session_hint,
                 ts=_file_ts(ctx), metadata=meta)


def read_json_document(ctx: ReadContext) -> Iterator[Record | Issue]:
    """Sub-agent sidecars, workflow records, session indexes: one record per distinct state."""
    obj = yield from load_json(ctx)
    if obj is None:
        return
    name = ctx.relpath.rsplit("/", 1)[-1]
    if name.endswith(".meta.json"):
        rtype, text = "agent_meta", flatten(obj)
    elif "/workflows/" in ctx.relpath:
        rtype, text = "workflow", flatten(obj, 5000)
    elif name == "sessions-index.json":
        rtype, text = "session_index", flatten(obj, 20000)
    else:
        rtype, text = "document", flatten(obj, 5000)
    session = ctx.session_hint if rtype != "session_index" else None
    yield Record(uid=uid("doc", ctx.relpath, ctx.end.prefix_sha256), kind="transcript", type=rtype,
                 content=text, session_id=session, agent_id=ctx.agent_hint,
                 ts=inner_ts(obj) or _file_ts(ctx), metadata={"document": obj})
