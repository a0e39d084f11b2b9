"""`IndexFollowStore` on SQLite (and, through the dialect, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..protocol.index_follow import DerivedRow
from .packing import sid_sql

FOLLOW_CACHE_KIB = 8192


class SQLiteIndexFollow:
    _tuples: Callable[..., list[tuple[Any, ...]]]  # store/sqlite/search.py
    kind: str
    db: Any  # this thread's connection (store/sqlite/backend.py)
    tx: Callable[[], Any]  # a write transaction (store/sqlite/backend.py)

    def drop_index_states(self, prefix: str, keep: str) -> int:
        with self.tx() as db:  # substr: no LIKE, whose '_' and '%' an engine name may hold
            return int(db.execute("DELETE FROM search_state WHERE substr(engine, 1, ?) = ?"
                                  " AND engine <> ?", (len(prefix), prefix, keep)).rowcount)

    def small_cache(self) -> None:
        if self.kind == "sqlite":  # PostgreSQL's cache is the server's
            self.db.execute(f"PRAGMA cache_size = -{FOLLOW_CACHE_KIB}")

    def derived_columns(self, after_id: int, upto_id: int,
                        batch: int = 50_000) -> Iterator[list[DerivedRow]]:
        last = after_id
        while True:
            rows = self._tuples("SELECT id, session_id IS NOT NULL, project_id, tool_name, linked_uid,"
                                " deleted_at FROM messages WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                                (last, upto_id, batch))
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def sessions_between(self, after_id: int, upto_id: int) -> set[str]:
        return {r[0] for r in self._tuples(  # each session's text made once, not once a row
            f"SELECT {sid_sql('s')} FROM (SELECT DISTINCT session_id AS s FROM messages"
            " WHERE id > ? AND id <= ? AND session_id IS NOT NULL) AS d", (after_id, upto_id))
            if r[0]}

    def session_project_ids(self, session_ids: Iterable[str]) -> dict[str, int | None]:
        ids = sorted(set(session_ids))
        out: dict[str, int | None] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out.update(self._tuples(f"SELECT id, project_id FROM sessions WHERE id IN"
                                    f" ({', '.join('?' * len(chunk))})", chunk))
        return out
