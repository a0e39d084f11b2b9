"""Which reader reads a file: by its place under the root first, then by a look at its
first bytes (so a folder of loose transcripts, like the fixtures, is read too).

Files no reader knows are listed by `memory status` as unknown; configuration, credentials
and caches are listed as not read, never opened.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .base import Issue, Record
from .read_context import ReadContext

Reader = Callable[[ReadContext], Iterator[Record | Issue]]


@dataclass(frozen=True)
class Kind:
    name: str  # the source_files kind: a source kind, or 'unknown' / 'not_read'
    reader: str | None  # the reader's name in READERS
    incremental: bool = False  # append-only: resume at the byte offset already consumed


def _readers() -> dict[str, Reader]:
    from . import debug, documents, export, extraction, history, transcript

    return {
        "transcript": transcript.read_transcript,
        "web_session": transcript.read_web_session,
        "history": history.read_history,
        "debug": debug.read_debug,
        "todos": documents.read_todos,
        "task": documents.read_task,
        "plan": documents.read_plan,
        "file_version": documents.read_file_version,
        "shell_snapshot": documents.read_shell_snapshot,
        "paste": documents.read_paste,
        "session_env": documents.read_session_env,
        "tool_output": documents.read_tool_output,
        "json_document": documents.read_json_document,
        "extraction": extraction.read_extraction,
        "export": export.read_export,
    }


_cache: dict[str, Reader] = {}


def reader_for(name: str) -> Reader:
    if not _cache:
        _cache.update(_readers())
    return _cache[name]


TRANSCRIPT = Kind("transcript", "transcript", incremental=True)
UNKNOWN = Kind("unknown", None)
NOT_READ = Kind("not_read", None)
EXTRACTION = Kind("import", "extraction", incremental=True)
EXPORT = Kind("import", "export")  # `memory import`: read whole every time (duplicates counted)

# Never opened: secrets and configuration.
_NOT_READ = re.compile(
    r"^(\.credentials\.json|settings(\.local)?\.json|\.last-cleanup|stats-cache\.json|"
    r"keybindings\.json|statusline.*|CLAUDE\.md|\.claude\.json.*|config\.json|"
    r"sessions/[^/]+\.json|.*\.lock)$"
)

_RULES: list[tuple[re.Pattern[str], Kind]] = [
    (re.compile(r"^history\.jsonl$"), Kind("history", "history", incremental=True)),
    (re.compile(r"^projects/.+/tool-results/[^/]+$"), Kind("transcript", "tool_output")),
    (re.compile(r"^projects/.+/memory/[^/]+\.md$"), Kind("plan", "plan")),
    (re.compile(r"^projects/.+\.jsonl$"), TRANSCRIPT),
    (re.compile(r"^projects/.+\.json$"), Kind("transcript", "json_document")),
    (re.compile(r"^todos/[^/]+\.json$"), Kind("todo", "todos")),
    (re.compile(r"^tasks/[^/]+/[^/]+\.json$"), Kind("todo", "task")),
    (re.compile(r"^plans/.+\.md$"), Kind("plan", "plan")),
    (re.compile(r"^debug/[^/]+\.(txt|log)$"), Kind("debug", "debug", incremental=True)),
    (re.compile(r"^file-history/[^/]+/[^/]+$"), Kind("file_history", "file_version")),
    (re.compile(r"^shell-snapshots/[^/]+$"), Kind("shell_snapshot", "shell_snapshot")),
    (re.compile(r"^paste-cache/[^/]+$"), Kind("history", "paste")),
    (re.compile(r"^session-env/[^/]+/[^/]+$"), Kind("session_env", "session_env")),
]

_TRANSCRIPT_KEYS = (b'"sessionId"', b'"parentUuid"', b'"uuid"', b'"leafUuid"')


def classify(relpath: str, head: Callable[[], bytes]) -> Kind:
    """The kind of the file at `relpath`; `head()` returns its first bytes when needed."""
    if _NOT_READ.match(relpath):
        return NOT_READ
    for pattern, kind in _RULES:
        if pattern.match(relpath):
            return kind
    name = relpath.rsplit("/", 1)[-1]
    if name.endswith(".jsonl"):
        first = head()
        if b'"display"' in first and b'"timestamp"' in first and b'"type"' not in first[:200]:
            return Kind("history", "history", incremental=True)
        if any(k in first for k in _TRANSCRIPT_KEYS) or b'"type"' in first:
            return TRANSCRIPT
        return UNKNOWN
    if name.endswith(".meta.json") or "/workflows/" in relpath:
        return Kind("transcript", "json_document")
    if name.endswith(".json") and b'"loglines"' in head():
        return Kind("transcript", "web_session")
    if name.startswith("snapshot-") and name.endswith(".sh"):
        return Kind("shell_snapshot", "shell_snapshot")
    return UNKNOWN
