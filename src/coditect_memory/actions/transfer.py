"""Export and import: a plain JSONL archive out of the store, and back in through the ingest
pipeline (the one write path; sources/export.py is the reader)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from ..errors import SourceMissing, io_error
from ..ingest.inventory import text_path
from ..ingest.pipeline import Ingest, RunStats
from ..settings import Settings
from ..store import Store
from ..store.base import IngestError
from ..transfer.export import write_jsonl


@dataclass(frozen=True)
class ExportRequest:
    project: str | None = None  # its path or name
    since_ms: int | None = None  # messages at or after this time
    output: Path | None = None  # a file (written whole, then renamed into place) or a stream
    settings: Settings | None = None  # privacy levels applied (privacy/levels.py) and the export audited; None: as stored


@dataclass(frozen=True)
class Exported:
    path: str | None  # None when written to a stream
    messages: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "messages": self.messages}


def export(store: Store, request: ExportRequest, stream: IO[bytes] | None = None) -> Exported:
    """Write the store's messages as JSON Lines to `request.output`, else to `stream`."""
    rows = store.export_messages(request.project, request.since_ms)
    if request.settings is not None:
        from ..privacy.export import for_export

        rows = for_export(store, request.settings, rows, request.project)
    output = request.output
    if output is None:
        if stream is None:
            raise ValueError("export needs an output file or a stream")
        return Exported(None, write_jsonl(rows, stream))
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            n = write_jsonl(rows, f)
        os.replace(tmp, output)
    except OSError as e:  # a full or read-only destination: one line that names the file
        mine = io_error(e, f"writing {output}")
        if mine is None:
            raise
        raise mine from e
    finally:
        if tmp.exists():
            tmp.unlink()
    return Exported(str(output), n)


@dataclass(frozen=True)
class Imported:
    stats: RunStats  # the ingest run that read the file
    bad_lines: list[dict[str, Any]]  # {line, severity, reason} of each line left out (first 100)
    conflicts: int = 0  # lines whose uid is stored with other content (in `errors` too)

    @property
    def complete(self) -> bool:
        """Every line of the file is in the store: none damaged, none in conflict, not cut
        short. (Warnings, such as an old export without a trailer, do not count.)"""
        return self.stats.errors == self.stats.warnings

    def to_json(self) -> dict[str, Any]:
        return {**self.stats.as_dict(), "conflicts": self.conflicts, "complete": self.complete,
                "bad_lines": self.bad_lines}


def import_file(store: Store, settings: Settings, path: Path, space_check: bool = True) -> Imported:
    """Read a `memory export` file into the store as an ingest run (format `export`):
    messages already stored are counted as duplicates; importing twice stores nothing new.
    Damaged lines are not stored; `complete` says whether every line was."""
    path = Path(os.path.abspath(path))
    if not path.is_file():
        raise SourceMissing(f"nothing to import at {path}: no such file")
    stats = Ingest(store, settings, space_check=space_check).run(path, "export")
    conflicts = _conflicts(store, path, stats) if stats.duplicates else 0
    bad = [{"line": e["line"], "severity": e["severity"], "reason": e["reason"]}
           for e in store.run_errors(stats.run_id, limit=100)] if stats.errors else []
    return Imported(stats, bad, conflicts)


def _conflicts(store: Store, path: Path, stats: RunStats) -> int:
    """Lines counted as duplicates whose uid is stored with other content: the stored
    version is kept, and each is recorded (file, line, uid) as an error of the run instead
    of passing for a duplicate. Compares each line's own `content_hash` with the stored one
    (a line damaged since export still names its original hash: no false conflict)."""
    relpath = text_path(path.name)
    found: list[IngestError] = []

    def compare(lines: list[tuple[int, int, str, str]]) -> None:
        stored = store.content_hashes([uid for _, _, uid, _ in lines])
        found.extend((relpath, no, offset, "error",
                      f"uid {uid} is already stored with different content; the stored "
                      "version was kept") for no, offset, uid, chash in lines
                     if uid in stored and stored[uid] != chash)

    pending: list[tuple[int, int, str, str]] = []
    offset = 0
    with open(path, "rb") as f:
        for no, raw in enumerate(f, 1):
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                obj = None
            if (isinstance(obj, dict) and isinstance(obj.get("uid"), str)
                    and isinstance(obj.get("content_hash"), str)):
                pending.append((no, offset, obj["uid"], obj["content_hash"]))
                if len(pending) >= 2000:
                    compare(pending)
                    pending = []
            offset += len(raw)
    compare(pending)
    if found:
        store.record_errors(stats.run_id, found)
        stats.errors += len(found)
        stats.duplicates -= len(found)
        store.finish_run(stats.run_id, stats.as_dict(), "completed")
    return len(found)
