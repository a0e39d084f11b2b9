"""`PlanSessionStore` on SQLite (and, through the dialect, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...sources.documents import plan_slug


class SQLitePlanSessions:
    _tuples: Callable[..., list[tuple[Any, ...]]]  # store/sqlite/search.py
    tx: Callable[[], Any]  # a write transaction (store/sqlite/backend.py)

    def link_plans(self) -> int:
        plans = self._tuples(
            "SELECT m.id, f.path FROM messages m JOIN source_files f ON f.id = m.source_file_id"
            " WHERE m.source_kind = 'plan' AND m.type = 'plan' AND m.session_id IS NULL"
            " AND m.deleted_at IS NULL")
        if not plans:
            return 0
        slugs = sorted({plan_slug(path) for _, path in plans})
        by_slug: dict[str, list[tuple[int, str]]] = {}  # slug -> (last ExitPlanMode ts, session)
        for i in range(0, len(slugs), 500):
            part = slugs[i:i + 500]
            for session, slug, planned in self._tuples(
                    "SELECT s.id, s.slug, (SELECT max(coalesce(t.ts, 0)) FROM messages t"
                    " WHERE t.session_id = uuid_bytes(s.id) AND t.tool_name = 'ExitPlanMode')"
                    f" FROM sessions s WHERE s.slug IN ({', '.join('?' * len(part))})", part):
                by_slug.setdefault(slug, []).append((-1 if planned is None else int(planned), session))
        links = []
        for mid, path in plans:
            found = sorted(by_slug.get(plan_slug(path), []))
            if len(found) > 1:  # a resumed session keeps its slug: the one that planned last
                found = found[-1:] if found[-2][0] < found[-1][0] else []
            if found:
                links.append((found[0][1], mid))
        if links:
            with self.tx() as db:
                db.executemany("UPDATE messages SET session_id = uuid_bytes(?) WHERE id = ?", links)  # 0027
                db.executemany("UPDATE sessions SET dirty = 1 WHERE id = ?",
                               [(s,) for s in sorted({s for s, _ in links})])
        return len(links)
