"""`memory export`: one JSON message a line, readable by anything that reads JSON.

Each line carries the message's identity (`uid`), what it is (`source_kind`, `type`,
`role`), its text (`content`; file versions as `blob_text` or `blob_base64`), when and where
(`timestamp` ISO-8601 UTC, `session_id`, `project`), every other column, its original
fields (`metadata`), and where it came from (`provenance`: root, file, line, byte offset,
ingest run). The first message of a session also carries the session's facts (`session`).
`memory import` reads it back to an equal store; so does `memory ingest --format
extraction`, for the fields that reader knows.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import IO, Any

import orjson

from ..timeutil import iso

FORMAT = "coditect-memory-export/1"
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
                         "line": d["source_line"], "offset": d["source_offset"],
                         "run_id": d["run_id"], "format": FORMAT}
    if "session" in d:
        out["session"] = d["session"]
    return out


def write_jsonl(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    n = 0
    for d in rows:
        out.write(orjson.dumps(to_line(d), option=orjson.OPT_NON_STR_KEYS))
        out.write(b"\n")
        n += 1
    return n
