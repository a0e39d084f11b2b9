"""Our own exports (`memory import FILE`, written by `memory export`): every exported field
back to its column, so an export imports back to an equal store.

The generic extraction reader (`ingest --format extraction`) keeps a line's uid, kind, text,
session, project, role and type, but drops lines without text and files every other column
under metadata. This one keeps them all; a session's facts (branch, version, plan slug,
file-history paths, token usage) ride on its first message as `facts`, which the ingest
pipeline writes like a transcript's. Each record keeps the provenance it was exported with
(`Record.origin`, line, offset), not the export file's.

Nothing damaged is stored: a line whose `check` or `content_hash` does not match, or whose
uid cannot be the one its time says, is a bad line (an Issue with its line number). The
trailer proves the file complete; a file cut short, mid-line or at a line boundary, is an
error. Exports written before the trailer (`/1`) are still read, with a warning that their
completeness cannot be proved.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from typing import Any

import orjson

from ..hashing import content_hash
from ..timeutil import parse_ts
from ..transfer.export import line_check, trailer
from .base import SOURCE_KINDS, Issue, Origin, Record, Usage
from .jsonl import read_objects
from .read_context import ReadContext

_STR = ("type", "role", "session_id", "tool_name", "tool_use_id", "component", "level",
        "agent_id", "ext_id", "parent_ext_id", "model")


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def read_export(ctx: ReadContext) -> Iterator[Record | Issue]:
    reading = _Reading()
    for item in read_objects(ctx, reading.line):
        if isinstance(item, Issue) and item.severity == "error":
            reading.bad += 1
        yield item
    yield from reading.end(ctx)


def read_lines(data: bytes) -> Iterator[Record | Issue]:
    """An export held in memory (a sync batch): the same checks as a file's, the trailer
    required (a batch cut short is an error, not a shorter batch)."""
    reading = _Reading()
    offset = 0
    for no, raw in enumerate(data.splitlines(keepends=True), 1):
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            obj = None
        items: tuple[Record | Issue, ...] = (
            reading.line(obj, no, offset) if isinstance(obj, dict)
            else (Issue("not a JSON object; line skipped", no, offset),))
        for item in items:
            if isinstance(item, Issue) and item.severity == "error":
                reading.bad += 1
            yield item
        offset += len(raw)
    if reading.trailer is None:
        yield Issue("the batch is cut short: no trailer line at its end", None, offset)


class _Reading:
    """One export file's state: the checks seen, for its trailer."""

    def __init__(self) -> None:
        self.bad = 0  # lines left out so far
        self.checks = hashlib.sha256()
        self.checked = False  # a line carried a `check`: written with a trailer
        self.trailer: int | None = None  # the trailer's line number

    def line(self, obj: dict[str, Any], no: int, offset: int) -> tuple[Record | Issue, ...]:
        if self.trailer is not None:
            return (Issue(f"a line after the trailer (line {self.trailer}); not stored", no, offset),)
        if "trailer" in obj and "uid" not in obj:
            self.trailer = no
            return self._trailer(obj, no, offset)
        check = obj.pop("check", None)
        if check is not None:
            self.checked = True
            self.checks.update(f"{check}\n".encode())
            try:
                ok = line_check(orjson.dumps(obj)) == check
            except TypeError:
                ok = False
            if not ok:
                return (Issue("the line does not match its check (damaged); not stored", no, offset),)
        return _line(obj, no, offset, checked=check is not None)

    def _trailer(self, obj: dict[str, Any], no: int, offset: int) -> tuple[Issue, ...]:
        if obj.get("messages") != no - 1:
            return (Issue(f"the trailer counts {obj.get('messages')} messages but {no - 1} "
                          "lines precede it: lines were removed or added", no, offset),)
        if obj.get("sha256") != trailer(no - 1, self.checks)["sha256"] and not self.bad:
            return (Issue("the lines do not match the trailer's digest: lines were changed "
                          "or reordered", no, offset),)
        return ()

    def end(self, ctx: ReadContext) -> Iterator[Issue]:
        """The file's end: a complete export ends with its trailer and a newline."""
        last = ctx.end.lines
        if ctx.size and not _ends_with_newline(ctx):
            yield Issue(f"the file is cut short: its last line ({last + 1}) has no newline "
                        "(an export always ends with one); the lines before it were read",
                        last + 1, ctx.end.offset)
        elif self.trailer is None and self.checked:
            yield Issue(f"the file is cut short after line {last}: no trailer line at its "
                        "end; the lines before it were read", last, ctx.end.offset)
        elif self.trailer is None and last:
            yield Issue("no trailer line: an export written before coditect-memory-export/2, "
                        "so a cut at a line boundary cannot be detected", severity="warning")


def _ends_with_newline(ctx: ReadContext) -> bool:
    with open(ctx.path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _uid_fits(key: str, ts: int | None) -> bool:
    """A uid we derived starts with its record's time in seconds (hashing.uid), or zeros;
    other uids (an extraction file's own) cannot be checked."""
    if len(key) != 32 or key.strip("0123456789abcdef"):
        return True
    prefix = f"{(ts // 1000) & 0xFFFFFFFF:08x}" if ts and ts > 0 else "00000000"
    return key[:8] in ("00000000", prefix)


def _origin(obj: dict[str, Any], kind: str) -> Origin | None:
    """The source an exported line was first read from, if it names one."""
    p = obj.get("provenance")
    if not (isinstance(p, dict) and isinstance(p.get("root"), str)
            and isinstance(p.get("file"), str)):
        return None
    file_kind = p.get("file_kind")
    run_id = p.get("run_id")
    return Origin(p["root"], p["file"], file_kind if isinstance(file_kind, str) else kind,
                  run_id if isinstance(run_id, int) else None)


def _position(obj: dict[str, Any], name: str, default: int) -> int | None:
    p = obj.get("provenance")
    if isinstance(p, dict) and "root" in p:
        v = p.get(name)
        return v if isinstance(v, int) else None
    return default


def _line(obj: dict[str, Any], no: int, offset: int, checked: bool = False) -> tuple[Record | Issue]:
    """One message line; `checked`: its check matched, so its content_hash is the one the
    exporting store computed and need not be hashed again."""
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
    content = _text(obj.get("content"))
    expected = obj.get("content_hash")
    if (expected is not None and not checked
            and expected != content_hash(content if content is not None else blob)):
        return (Issue("the content does not match its content_hash (damaged); not stored",
                      no, offset),)
    ts = parse_ts(obj.get("timestamp"))
    if not _uid_fits(obj["uid"], ts):
        return (Issue(f"uid {obj['uid']} does not fit the message's time (damaged); not stored",
                      no, offset),)
    kind = obj["source_kind"] if obj.get("source_kind") in SOURCE_KINDS else "import"
    fields: dict[str, Any] = {k: _text(obj.get(k)) for k in _STR}
    fields["type"] = fields["type"] or "message"
    meta = obj.get("metadata")
    session = obj.get("session")
    return (Record(uid=obj["uid"], kind=kind, content=content, ts=ts,
                   line=_position(obj, "line", no), offset=_position(obj, "offset", offset),
                   origin=_origin(obj, kind),
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
