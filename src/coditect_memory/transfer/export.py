"""`memory export`: one JSON message a line, readable by anything that reads JSON.

Each line carries the message's identity (`uid`), what it is (`source_kind`, `type`,
`role`), its text (`content`; its stored bytes — file versions, pasted images — as
`blob_text` or `blob_base64`), when and where (`timestamp` ISO-8601 UTC, `session_id`,
`project`), every other column, its original fields (`metadata`), where it came from
(`provenance`: root, file, file kind, line, byte offset, ingest run), and last a `check`
over the rest of the line. The first message of a session also carries the session's facts
(`session`). The file ends with a trailer line (`trailer`, `messages`, `sha256` over the
checks), so a damaged or truncated export is caught on import. docs/export-format.md has
the details. `memory import` reads it back to an equal store; so does `memory ingest
--format extraction`, for the fields that reader knows.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import IO, Any

import orjson

from ..timeutil import iso

FORMAT = "coditect-memory-export/2"  # /1: no file_kind, check or trailer (still imported)
_COLUMNS = ("tool_name", "tool_use_id", "component", "level", "agent_id", "ext_id",
            "parent_ext_id", "model", "linked_uid", "content_hash")


def to_line(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"uid": d["uid"], "source_kind": d["source_kind"], "type": d["type"],
                           "role": d["role"], "content": d["content"], "timestamp": iso(d["ts"]),
                           "session_id": d["session_id"], "project": d["project"]}
    for k in _COLUMNS:
        if d[k] is not None:
            out[k] = d[k]
    for k in ("is_error", "is_meta", "is_sidechain"):
        if d[k]:
            out[k] = True
    if d["metadata"]:
        out["metadata"] = orjson.loads(d["metadata"])
    if d["blob"] is not None:
        blob = bytes(d["blob"])
        try:
            out["blob_text"] = blob.decode("utf-8") if d["blob_is_text"] else None
        except UnicodeDecodeError:
            out["blob_text"] = None
        if out["blob_text"] is None:
            del out["blob_text"]
            out["blob_base64"] = base64.b64encode(blob).decode()
    out["provenance"] = {"root": d["source_root"], "file": d["source_file"],
                         "file_kind": d["source_file_kind"],
                         "line": d["source_line"], "offset": d["source_offset"],
                         "run_id": d["run_id"], "format": FORMAT}
    if "session" in d:
        out["session"] = d["session"]
    return out


def line_check(body: bytes) -> str:
    """The `check` of a line: 16 hex of SHA-256 over the line's JSON before the check, as
    orjson writes it (an import re-serialises the parsed line, minus `check`, the same way)."""
    return hashlib.sha256(body).hexdigest()[:16]


def trailer(messages: int, checks: Any) -> dict[str, Any]:
    """The last line: how many messages came before and a digest of their checks (a hashlib
    object fed each check and a newline), so a cut at a line boundary is caught too."""
    return {"trailer": FORMAT, "messages": messages, "sha256": checks.hexdigest()}


def write_jsonl(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    n = 0
    checks = hashlib.sha256()
    for d in rows:
        body = orjson.dumps(to_line(d), option=orjson.OPT_NON_STR_KEYS)
        check = line_check(body)
        out.write(body[:-1] + b',"check":"' + check.encode() + b'"}\n')
        checks.update(check.encode() + b"\n")
        n += 1
    out.write(orjson.dumps(trailer(n, checks)) + b"\n")
    return n
