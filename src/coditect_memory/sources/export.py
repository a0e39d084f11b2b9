"""Our own exports (`memory import FILE`, written by `memory export`): every exported field
back to its column, so an export imports back to an equal store.

The generic extraction reader (`ingest --format extraction`) keeps a line's uid, kind, text,
session, project, role and type, but drops lines without text and files every other column
under metadata. This one keeps them all; a session's facts (branch, version, plan slug,
file-history paths, token usage) ride on its first message as `facts`, which the ingest
pipeline writes like a transcript's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from ..timeutil import parse_ts
from .base import SOURCE_KINDS, Issue, Record, Usage
from .jsonl import read_objects
from .read_context import ReadContext

_STR = ("type", "role", "session_id", "tool_name", "tool_use_id", "component", "level",
        "agent_id", "ext_id", "parent_ext_id", "model")


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def read_export(ctx: ReadContext) -> Iterator[Record | Issue]:
    return read_objects(ctx, _line)


def _line(obj: dict[str, Any], no: int, offset: int) -> tuple[Record | Issue]:
    if not isinstance(obj.get("uid"), str) or not obj["uid"]:
        return (Issue("not an exported message (no uid); line skipped", no, offset),)
    blob = None
    try:
        if isinstance(obj.get("blob_text"), str):
            blob = obj["blob_text"].encode("utf-8", "surrogatepass")
        elif isinstance(obj.get("blob_base64"), str):
            blob = base64.b64decode(obj["blob_base64"], validate=True)
    except ValueError:
        return (Issue("blob_base64 is not valid base64; line skipped", no, offset),)
    kind = obj["source_kind"] if obj.get("source_kind") in SOURCE_KINDS else "import"
    fields: dict[str, Any] = {k: _text(obj.get(k)) for k in _STR}
    fields["type"] = fields["type"] or "message"
    meta = obj.get("metadata")
    session = obj.get("session")
    return (Record(uid=obj["uid"], kind=kind, content=_text(obj.get("content")),
                   ts=parse_ts(obj.get("timestamp")), line=no, offset=offset,
                   project=_text(obj.get("project")), is_error=bool(obj.get("is_error")),
                   is_sidechain=bool(obj.get("is_sidechain")), is_meta=bool(obj.get("is_meta")),
                   metadata=meta if isinstance(meta, dict) else None, blob=blob,
                   facts=_facts(session, fields["session_id"]) if isinstance(session, dict) else None,
                   **fields),)


def _facts(session: dict[str, Any], sid: str | None) -> dict[str, Any] | None:
    """An exported session's facts in the shape the pipeline writes: its strings, `backups`
    (file-history name -> path) and `usage` (Usage rows)."""
    if not sid:
        return None
    facts: dict[str, Any] = {k: session[k] for k in ("git_branch", "version", "slug")
                             if isinstance(session.get(k), str)}
    backups = session.get("file_backups")
    if isinstance(backups, dict):
        facts["backups"] = backups
    facts["usage"] = _usage(sid, session.get("usage"))
    return facts


def _usage(sid: str, rows: Any) -> list[Usage]:
    out = []
    for r in rows if isinstance(rows, list) else []:
        if isinstance(r, list) and len(r) == 9 and all(isinstance(x, str) for x in r[:2]):
            tokens = [int(x or 0) for x in r[4:8]]
            out.append(Usage(r[0], r[1], sid, r[2], r[3], tokens[0], tokens[1], tokens[2],
                             tokens[3], is_sidechain=bool(r[8])))
    return out
