"""What every reader yields: records with provenance, and issues with a location.

Readers never write anything and know nothing of the database (DESIGN.md, `sources/`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from .text import compact_json

# Source kinds are part of the public contract (`memory status --json`, `show session`).
SOURCE_KINDS = (
    "transcript",
    "history",
    "todo",
    "plan",
    "debug",
    "file_history",
    "shell_snapshot",
    "session_env",
    "import",
)


@dataclass(slots=True)
class Usage:
    """Token usage of one API response, keyed by (message id, request id) so it counts once."""

    message_id: str
    request_id: str
    session_id: str | None
    model: str | None
    ts: int | None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    is_sidechain: bool = False


@dataclass(slots=True, frozen=True)
class Origin:
    """Where an imported record was first read (its export's provenance): kept on import, so
    an export imports back to an equal store instead of pointing at the export file."""

    root: str
    file: str
    kind: str  # the source file's kind (source_files.kind)
    run_id: int | None  # the ingest run of the store that first read it


@dataclass(slots=True)
class Record:
    """One thing said or logged. `uid` is its identity (DESIGN.md, identity and dedup)."""

    uid: str
    kind: str
    type: str
    content: str | None
    session_id: str | None = None
    role: str | None = None
    ts: int | None = None
    line: int | None = None
    offset: int | None = None
    project: str | None = None  # the working directory the record belongs to
    component: str | None = None
    level: str | None = None
    tool_name: str | None = None
    tool_use_id: str | None = None
    is_error: bool = False
    ext_id: str | None = None  # the source's own id (transcript uuid)
    parent_ext_id: str | None = None
    model: str | None = None
    agent_id: str | None = None
    is_sidechain: bool = False
    is_meta: bool = False  # injected by the tool (caveats, command output), not typed
    metadata: dict[str, Any] | None = None
    blob: bytes | None = None  # content stored once, by sha256 (file versions, images)
    usage: Usage | None = None
    replace: bool = False  # the record may grow on a later read (last debug entry)
    facts: dict[str, Any] | None = None  # session facts: git branch, version, title, ...
    origin: Origin | None = None  # an imported record's original source (else: the file read)
    # `metadata` as JSON (orjson), made by ingest's privacy screen when it changed nothing:
    # the store writes it instead of dumping the metadata again
    metadata_json: bytes | None = None


@dataclass(slots=True)
class Issue:
    """A located problem: a record that could not be stored, or was stored repaired."""

    reason: str
    line: int | None = None
    offset: int | None = None
    severity: str = "error"  # error: data not stored; warning: stored with a repair


@dataclass
class ReadEnd:
    """Where a reader stopped: the watermark the next run resumes from."""

    offset: int = 0
    lines: int = 0
    prefix_sha256: str | None = None
    sha256: str | None = None  # of everything read (the whole file when read to the end)
    state: dict[str, Any] = field(default_factory=dict)
    partial_tail: bool = False  # an unterminated last line, read when complete


def _scrub(obj: Any) -> Any:
    """Replace lone UTF-16 surrogates (they occur in real transcripts) with U+FFFD."""
    if isinstance(obj, str):
        return obj.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(obj, list):
        return [_scrub(v) for v in obj]
    if isinstance(obj, dict):
        return {_scrub(k): _scrub(v) for k, v in obj.items()}
    return obj


def _int64_or_text(digits: str) -> int | str:
    """JSON integers beyond 64 bits (orjson cannot write them back into metadata) are kept
    verbatim as their digits."""
    if len(digits) <= 18:
        return int(digits)
    n = int(digits) if len(digits) <= 40 else None
    return n if n is not None and -(1 << 63) <= n < (1 << 64) else digits


def loads_lenient(data: bytes) -> tuple[Any, str | None]:
    """Parse JSON; repair bad UTF-8 and lone surrogates. Returns (value, repair note).

    Raises ValueError with a readable reason when the text is not JSON at all.
    """
    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as first:
        note = None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            text = data.decode("utf-8", "replace")
            note = f"invalid UTF-8 at byte {e.start}; stored with U+FFFD replacements"
        try:
            return orjson.loads(text), note
        except orjson.JSONDecodeError:
            pass
        try:
            value = json.loads(text, parse_int=_int64_or_text)
        except json.JSONDecodeError as e:
            raise ValueError(f"invalid JSON: {e.msg} at column {e.colno}") from None
        except RecursionError:
            raise ValueError("invalid JSON: nested too deeply") from None
        if "surrogate" in str(first):
            return _scrub(value), note
        return value, note


def dumps(obj: Any) -> str:
    return compact_json(obj)
