"""`memory checkpoint create|list|show|export|import`: immutable snapshots of a project's
context (the pack, the session's summary, open todos, git branch and commit), in the portable
JSON format of docs/checkpoints.md."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import NotFound, UsageError
from ..settings import Settings
from ..store.base import Store
from ..store.protocol.memories import MemoryFilter
from ..timeutil import iso, parse_ts
from .context import ContextRequest, context, resolve_project
from .submodules import EVERYTHING, Visibility

FORMAT = "coditect-memory.checkpoint/1"
_REQUIRED = ("format", "id", "created_at", "pack")


@dataclass
class CheckpointRequest:
    project: str | None = None
    cwd: str | None = None
    session: str | None = None
    note: str | None = None
    budget: int | None = None
    visible_projects: tuple[int, ...] | None = None  # an API token's submodules (None: all)


def _git_commit(path: str | None) -> str | None:
    """HEAD of the project's repository when it is on this machine; None otherwise."""
    if not path or not Path(path).is_dir():
        return None
    try:
        out = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _checkpoint_id(body: dict[str, Any]) -> str:
    data = orjson.dumps({k: v for k, v in body.items() if k != "id"}, option=orjson.OPT_SORT_KEYS)
    return "c" + hashlib.sha256(data).hexdigest()[:11]


def create(store: Store, settings: Settings, request: CheckpointRequest) -> dict[str, Any]:
    visible = request.visible_projects
    session = None
    if request.session:
        session = store.session(request.session)
        if session is None or (visible is not None and not any(
                i in visible for i in store.project_ids(session["project"] or ""))):
            raise NotFound(f"no session {request.session!r}: see `memory sessions`")
    project = request.project or (session["project"] if session else None)
    pid, path, name = resolve_project(store, project, request.cwd, visible=visible)
    if session is None and path:
        recent = store.sessions(project=path, limit=1)
        session = recent[0] if recent else None
    pack = context(store, settings, ContextRequest(project=path, budget=request.budget,
                                                   visible_projects=visible))
    todos = store.memories(MemoryFilter(project_id=pid, types=("todo",), limit=100,
                                        visible_projects=visible))
    body: dict[str, Any] = {
        "format": FORMAT, "id": "", "created_at": iso(pack.created_at), "project": path,
        "project_name": name, "session_id": session["session_id"] if session else None,
        "note": request.note, "summary": (session["summary"] or session["title"]) if session else None,
        "git": {"branch": session["git_branch"] if session else None, "commit": _git_commit(path)},
        "todos": [{"text": t["text"], "memory_id": t["id"]} for t in todos],
        "pack": pack.to_json()}
    body["id"] = _checkpoint_id(body)
    store.put_checkpoint(body["id"], pid, body["session_id"], request.note, pack.created_at, body)
    return body


def list_(store: Store, project: str | None = None, limit: int = 50,
          visible: tuple[int, ...] | None = None) -> list[dict[str, Any]]:
    """Newest first; with `visible` (an API token's submodules), only their projects'."""
    if project:
        pids: list[int | None] = [resolve_project(store, project, None, visible=visible)[0]]
    else:
        pids = [None] if visible is None else [i for i in visible if i]
    bodies = [b for pid in pids for b in store.checkpoints(pid, limit)]
    if len(pids) > 1:
        bodies = sorted(bodies, key=lambda b: parse_ts(b["created_at"]) or 0, reverse=True)[:limit]
    return [{k: b.get(k) for k in ("id", "created_at", "project", "session_id", "note")}
            | {"tokens": b["pack"]["tokens"]} for b in bodies]


def get(store: Store, checkpoint_id: str, seen: Visibility = EVERYTHING) -> dict[str, Any]:
    body = store.checkpoint(checkpoint_id)
    if body is None or not seen.sees(body.get("project")):  # another submodule's: not there
        raise NotFound(f"no checkpoint {checkpoint_id!r} (or several start with it): "
                       "see `memory checkpoint list`")
    return body


def export(store: Store, checkpoint_id: str, path: Path) -> dict[str, Any]:
    body = get(store, checkpoint_id)
    path.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return {"id": body["id"], "path": str(path)}


def import_(store: Store, path: Path) -> dict[str, Any]:
    """Read an exported checkpoint; its id must match its content (nothing altered)."""
    try:
        body = orjson.loads(path.read_bytes())
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    except orjson.JSONDecodeError as e:
        raise UsageError(f"{path} is not a checkpoint: not JSON ({e})") from None
    if not isinstance(body, dict) or any(k not in body for k in _REQUIRED) or body["format"] != FORMAT:
        raise UsageError(f"{path} is not a checkpoint of format {FORMAT}: see docs/checkpoints.md")
    if _checkpoint_id(body) != body["id"]:
        raise UsageError(f"{path}: the checkpoint's id does not match its content (altered?)")
    pid = 0
    if body.get("project"):
        ids = store.project_ids(body["project"])
        pid = ids[0] if ids else 0
    created = parse_ts(body["created_at"]) or 0
    added = store.put_checkpoint(body["id"], pid, body.get("session_id"), body.get("note"),
                                 created, body)
    return {"id": body["id"], "imported": added}
