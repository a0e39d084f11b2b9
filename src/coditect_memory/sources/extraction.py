"""Generic JSONL exports (`memory ingest --format extraction FILE.jsonl`): one object a line
with content / timestamp / project / session fields, as earlier extraction scripts wrote.

Field names vary between scripts, so each field is looked up under its usual aliases; a
`uid` in the line is kept, so our own exports import back to the same identities.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..hashing import uid
from ..timeutil import parse_ts
from .base import SOURCE_KINDS, Issue, Record
from .jsonl import read_objects
from .read_context import ReadContext
from .text import flatten

_ALIASES = {
    "content": ("content", "text", "message", "body", "display", "prompt"),
    "timestamp": ("timestamp", "ts", "time", "created_at", "date"),
    "project": ("project", "project_path", "cwd", "project_name"),
    "session": ("session_id", "sessionId", "session", "conversation_id"),
    "role": ("role", "speaker", "author"),
    "type": ("type", "message_type", "kind"),
}


def _pick(obj: dict, name: str):
    for key in _ALIASES[name]:
        if key in obj and obj[key] not in (None, ""):
            return key, obj[key]
    return None, None


def read_extraction(ctx: ReadContext) -> Iterator[Record | Issue]:
    return read_objects(ctx, _line)


def _line(obj: dict, no: int, offset: int) -> tuple[Record | Issue]:
    used = set()
    fields = {}
    for name in _ALIASES:
        key, value = _pick(obj, name)
        if key:
            used.add(key)
            fields[name] = value
    content = fields.get("content")
    if content is None:
        return (Issue("no content field (content/text/message/body); line skipped", no, offset),)
    if not isinstance(content, str):
        content = content.get("content") if isinstance(content, dict) and isinstance(content.get("content"), str) else flatten(content)
    ts = parse_ts(fields.get("timestamp"))
    session = fields.get("session")
    session = str(session) if session is not None else None
    project = fields.get("project")
    kind = obj["source_kind"] if obj.get("source_kind") in SOURCE_KINDS else "import"
    rtype = str(fields.get("type") or "message")
    key = obj.get("uid") or uid("import", session, fields.get("timestamp"), rtype, content, ts=ts)
    meta = {k: v for k, v in obj.items() if k not in used and k not in ("uid", "source_kind")}
    return (Record(uid=str(key), kind=kind, type=rtype, role=fields.get("role"), content=content,
                   session_id=session, ts=ts, line=no, offset=offset,
                   project=str(project) if project else None, metadata=meta or None),)
