"""The SQLite query behind `memory export`: every message with its blob (file versions and
pasted images alike), its source file's path and kind, and each session's facts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from ..protocol.transfer import TransferStore
from .packing import CONTENT, HASH, SID, MetaCodec, blob_sql, uid_in, uid_sql, uuid_sql


class SQLiteTransfer(TransferStore):
    db: sqlite3.Connection  # the backend's, for this thread

    def content_hashes(self, uids: list[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for i in range(0, len(uids), 500):
            part = uids[i:i + 500]
            out.update(self.db.execute(
                f"SELECT {uid_sql('m.uid')}, {HASH} FROM messages m WHERE m.uid IN ({uid_in(len(part))})",
                part).fetchall())
        return out

_EXPORT = """
SELECT m.id, {uid} AS uid, m.source_kind, m.type, m.role, {content} AS content, {chash} AS content_hash, m.ts, {sid} AS session_id,
       p.path AS project, m.tool_name, m.tool_use_id, m.component, m.level, m.is_error,
       m.is_meta, m.is_sidechain, m.agent_id, {ext_id} AS ext_id, {parent_ext_id} AS parent_ext_id, m.model, m.linked_uid,
       m.metadata, m.metadata_z, m.blob_sha256, b.is_text AS blob_is_text, {blob} AS blob,
       f.root AS source_root, f.path AS source_file, f.kind AS source_file_kind, m.source_line, m.source_offset, m.run_id
FROM messages m
LEFT JOIN projects p ON p.id = m.project_id
LEFT JOIN source_files f ON f.id = m.source_file_id
LEFT JOIN blobs b ON b.sha256 = m.blob_sha256{join}
WHERE m.deleted_at IS NULL {where}
ORDER BY m.id{limit}"""


def export_messages(db: sqlite3.Connection, project: str | None,
                    since: int | None) -> Iterator[dict[str, Any]]:
    """Messages as dicts, in the order they were stored; each session's facts (branch,
    version, plan slug, file-history paths, token usage) ride on its first message."""
    where: list[str] = []
    args: list[Any] = []
    if project:
        where.append("AND (p.path = ? OR p.name = ?)")
        args += [project, project]
    if since is not None:
        where.append("AND m.ts >= ?")
        args.append(since)
    return message_rows(db, " ".join(where), args)


def message_rows(db: sqlite3.Connection, where: str, args: list[Any], join: str = "",
                 limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The export's rows that pass `where` (after `AND`), by id; sync adds a join and a limit."""
    cur = db.cursor()  # a cursor of its own: the per-session look-ups below use db
    cur.execute(_EXPORT.format(where=where, join=join, content=CONTENT, chash=HASH, sid=SID, ext_id=uuid_sql('m.ext_id'),
                               parent_ext_id=uuid_sql('m.parent_ext_id'), blob=blob_sql(), uid=uid_sql('m.uid'),
                               limit="" if limit is None else f" LIMIT {int(limit)}"), args)
    seen: set[str] = set()
    names = [c[0] for c in cur.description]
    codec = MetaCodec()
    while rows := cur.fetchmany(2000):
        for r in rows:
            d = dict(zip(names, r, strict=True))
            d["metadata"] = codec.text(db, d["metadata"], d.pop("metadata_z"))
            sid = d["session_id"]
            if sid and sid not in seen:
                seen.add(sid)
                d["session"] = _session_facts(db, sid)
            yield d


def _session_facts(db: sqlite3.Connection, sid: str) -> dict[str, Any]:
    row = db.execute("SELECT git_branch, version, slug FROM sessions WHERE id = ?", (sid,)).fetchone()
    facts: dict[str, Any] = dict(zip(("git_branch", "version", "slug"), row or (None,) * 3,
                                     strict=True))
    facts["file_backups"] = {name: path for name, path in db.execute(
        "SELECT backup_name, path FROM file_backups WHERE session_id = ? ORDER BY backup_name", (sid,))}
    facts["usage"] = [list(r) for r in db.execute(
        "SELECT message_id, request_id, model, ts, input_tokens, output_tokens, cache_read_tokens,"
        " cache_write_tokens, is_sidechain FROM api_usage WHERE session_id = uuid_bytes(?)"
        " ORDER BY message_id, request_id", (sid,))]
    return facts
