"""`memory import`: read a `memory export` file back into the store, losslessly.

The generic extraction reader (`ingest --format extraction`) keeps a line's uid, kind, text,
session, project, role and type, but drops lines without text and files every other column
under metadata. An export must come back equal, so this reader maps every exported field
back to its column, and the import is written through the same Store calls as an ingest run
(the ingest lock, a run record, one transaction per batch with the file's watermark,
`ON CONFLICT(uid) DO NOTHING`, session derivation): importing twice stores nothing new, and
a killed import is finished by the next one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import SourceMissing
from ..ingest.lock import IngestLock
from ..settings import Settings
from ..sources.base import SOURCE_KINDS, Issue, Record, Usage
from ..sources.context import ReadContext
from ..sources.jsonl import iter_json
from ..store.base import Batch, FileUpdate, Store
from ..timeutil import parse_ts

_STR = ("type", "role", "session_id", "tool_name", "tool_use_id", "component", "level",
        "agent_id", "ext_id", "parent_ext_id", "model")


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def read_export(ctx: ReadContext) -> Iterator[Record | Issue]:
    for item in iter_json(ctx):
        if isinstance(item, Issue):
            yield item
            continue
        no, offset, obj = item
        if not isinstance(obj, dict) or not isinstance(obj.get("uid"), str) or not obj["uid"]:
            yield Issue("not an exported message (no uid); line skipped", no, offset)
            continue
        blob = None
        try:
            if isinstance(obj.get("blob_text"), str):
                blob = obj["blob_text"].encode("utf-8", "surrogatepass")
            elif isinstance(obj.get("blob_base64"), str):
                blob = base64.b64decode(obj["blob_base64"], validate=True)
        except ValueError:
            yield Issue("blob_base64 is not valid base64; line skipped", no, offset)
            continue
        kind = obj.get("source_kind") if obj.get("source_kind") in SOURCE_KINDS else "import"
        fields = {k: _text(obj.get(k)) for k in _STR}
        fields["type"] = fields["type"] or "message"
        meta = obj.get("metadata")
        yield Record(uid=obj["uid"], kind=kind, content=_text(obj.get("content")),
                     ts=parse_ts(obj.get("timestamp")), line=no, offset=offset,
                     project=_text(obj.get("project")), is_error=bool(obj.get("is_error")),
                     is_sidechain=bool(obj.get("is_sidechain")), is_meta=bool(obj.get("is_meta")),
                     metadata=meta if isinstance(meta, dict) else None, blob=blob,
                     facts=obj.get("session") if isinstance(obj.get("session"), dict) else None,
                     **fields)


def _usage(sid: str, rows: Any) -> list[Usage]:
    out = []
    for r in rows if isinstance(rows, list) else []:
        if isinstance(r, list) and len(r) == 9 and all(isinstance(x, str) for x in r[:2]):
            out.append(Usage(r[0], r[1], sid, r[2], r[3], *(int(x or 0) for x in r[4:8]),
                             is_sidechain=bool(r[8])))
    return out


class _Batcher:
    """Collects records into store batches the way an ingest run does."""

    def __init__(self, store: Store, run_id: int, size: int) -> None:
        self.store, self.run_id, self.size = store, run_id, size
        self.batch = Batch(run_id=run_id)
        self.read = self.new = self.dup = 0

    def add(self, rec: Record, file_id: int) -> None:
        b = self.batch
        b.records.append((rec, file_id))
        sid = rec.session_id
        if not sid:
            return
        s = b.sessions.setdefault(sid, {})
        if rec.ts is not None:
            s["start"] = rec.ts if s.get("start") is None else min(s["start"], rec.ts)
            s["end"] = rec.ts if s.get("end") is None else max(s["end"], rec.ts)
        if rec.project and "project" not in s:
            s["project"] = rec.project
        facts = rec.facts or {}
        s.update((k, facts[k]) for k in ("git_branch", "version", "slug") if isinstance(facts.get(k), str))
        backups = facts.get("file_backups")
        if isinstance(backups, dict):
            b.file_backups += [(sid, k, v) for k, v in backups.items() if isinstance(v, str)]
        b.usage += _usage(sid, facts.get("usage"))
        rec.facts = None

    def flush(self, files: list[FileUpdate] | None = None) -> None:
        b = self.batch
        b.files = files or []
        if not (b.records or b.errors or b.files):
            return
        new, dup = self.store.write_batch(b)
        self.read += len(b.records)
        self.new += new
        self.dup += dup
        self.batch = Batch(run_id=self.run_id)


def import_jsonl(store: Store, config: Settings, path: Path) -> dict[str, Any]:
    path = Path(os.path.abspath(path))
    if not path.is_file():
        raise SourceMissing(f"nothing to import at {path}: no such file")
    started = time.monotonic()
    root, name = str(path.parent), path.name
    with IngestLock(config.home, config.ingest.lock_wait_seconds):
        run_id = store.begin_run(root, "export")
        stats: dict[str, Any] = {"run_id": run_id, "root": root, "files_seen": 1, "files_changed": 1}
        try:
            file_id = store.register_files(root, [(name, "import")])[name]
            st = path.stat()
            ctx = ReadContext(path=path, relpath=name, size=st.st_size, config=config)
            batcher = _Batcher(store, run_id, config.ingest.batch_size)
            errors = 0
            last_error = None
            for item in read_export(ctx):
                if isinstance(item, Issue):
                    errors += 1
                    last_error = f"{name}:{item.line}: {item.reason}"
                    batcher.batch.errors.append((name, item.line, item.offset, item.severity, item.reason))
                    continue
                batcher.add(item, file_id)
                if len(batcher.batch.records) >= config.ingest.batch_size:
                    batcher.flush()
            end = ctx.end
            batcher.flush([FileUpdate(
                file_id=file_id, kind="import", size=st.st_size, mtime_ns=st.st_mtime_ns,
                sha256=end.sha256 or end.prefix_sha256, bytes_consumed=end.offset,
                lines_consumed=end.lines, prefix_sha256=end.prefix_sha256, state={},
                partial_tail=end.partial_tail, errors=errors, last_error=last_error,
                action="new", bytes_read=end.offset, messages_read=batcher.read,
                messages_new=batcher.new)])
            stats.update(bytes_read=end.offset, messages_read=batcher.read,
                         messages_new=batcher.new, duplicates=batcher.dup, errors=errors,
                         manifest_sha256=hashlib.sha256(
                             f"{name}\0{st.st_size}\0{end.sha256}\n".encode()).hexdigest())
            stats["sessions_updated"] = store.derive_sessions()
        except BaseException as e:
            status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            with contextlib.suppress(Exception):
                store.finish_run(run_id, stats, status, f"{type(e).__name__}: {e}")
            raise
        stats["seconds"] = round(time.monotonic() - started, 3)
        store.finish_run(run_id, stats, "completed")
    return stats
