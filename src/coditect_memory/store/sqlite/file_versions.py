"""The SQLite backend's file versions for search (store/protocol/file_versions.py); PostgreSQL
runs the same SQL through its dialect (`substr` of a blob is a bytea's there too)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..protocol.file_versions import INDEXED_BYTES, FileVersion
from ..protocol.search import IndexRow
from .packing import SID, blob_sql, uid_sql
from .search import _chunks


class SQLiteFileVersions:
    _tuples: Callable[..., list[tuple[Any, ...]]]  # store/sqlite/search.py: rows as plain tuples

    def _versions(self, where: str, params: tuple[Any, ...], max_bytes: int) -> list[FileVersion]:
        return [FileVersion(mid, uid, sid, path, backup or "", _int(version), int(size or 0),
                            bytes(head).decode("utf-8", "replace") if is_text and head is not None
                            else None)
                for (mid, uid, sid, path, backup, version, size, is_text, head) in self._tuples(f"""
                    SELECT m.id, {uid_sql('m.uid')}, {SID}, fb.path, json_extract(m.metadata, '$.backup'),
                           json_extract(m.metadata, '$.version'), b.size, b.is_text,
                           substr({blob_sql()}, 1, ?)
                    FROM messages m
                    LEFT JOIN blobs b ON b.sha256 = m.blob_sha256
                    LEFT JOIN file_backups fb ON fb.session_id = {SID}
                         AND fb.backup_name = json_extract(m.metadata, '$.file_key')
                    WHERE {where} AND m.source_kind = 'file_history' AND m.deleted_at IS NULL""",
                    (max_bytes, *params))]

    def file_versions(self, ids: Iterable[int], max_bytes: int) -> dict[int, FileVersion]:
        out: dict[int, FileVersion] = {}
        for chunk in _chunks(sorted(set(ids))):
            where = f"m.id IN ({', '.join('?' * len(chunk))})"
            out.update((v.message_id, v) for v in self._versions(where, tuple(chunk), max_bytes))
        return out

    def file_version(self, uid: str, max_bytes: int) -> FileVersion | None:
        found = self._versions("m.uid = uid_bytes(?)", (uid,), max_bytes)
        return found[0] if found else None

    def with_file_texts(self, rows: list[IndexRow]) -> list[IndexRow]:
        """Rows to index with each file version's text in `content` (it is a blob)."""
        ids = [r.id for r in rows if r.content is None and r.source_kind == "file_history"]
        if not ids:
            return rows
        found = self.file_versions(ids, INDEXED_BYTES)
        return [r._replace(content=found[r.id].indexed_text()) if r.id in found else r for r in rows]

    def file_version_ids(self, after_id: int, upto_id: int) -> list[int]:
        return [r[0] for r in self._tuples(
            "SELECT id FROM messages WHERE source_kind = 'file_history' AND id > ? AND id <= ?"
            " ORDER BY id", (after_id, upto_id))]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
