"""`IndexFollowStore` on SQLite (and, through the dialect, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..protocol.index_follow import DerivedRow


class SQLiteIndexFollow:
    _tuples: Callable[..., list[tuple[Any, ...]]]  # store/sqlite/search.py

    def derived_columns(self, after_id: int, upto_id: int,
                        batch: int = 50_000) -> Iterator[list[DerivedRow]]:
        last = after_id
        while True:
            rows = self._tuples("SELECT id, session_id, project_id, tool_name, linked_uid, deleted_at"
                                " FROM messages WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                                (last, upto_id, batch))
            if not rows:
                return
            yield rows
            last = rows[-1][0]
