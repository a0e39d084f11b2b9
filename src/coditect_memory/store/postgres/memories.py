"""Memories on PostgreSQL: a batch of drafts consolidated in a few statements.

Both backends fold a call's drafts into each memory's end state first (sqlite/memory_fold.py).
SQLite then looks up and writes each memory with its own statements: cheap on a file in the
same process, but a round trip each on a server (1.9 s per 30k drafts of a first ingest).
Here they are written with one look-up, one INSERT and one UPDATE for all of them.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ..protocol.memories import MemoryDraft
from ..sqlite.memory_fold import fold


class PostgresMemories:
    """put_memories in a few statements (see the module's docstring)."""

    def put_memories(self, drafts: list[MemoryDraft], watermark: int | None = None,
                     name: str = "extract") -> int:
        if not drafts:
            return int(super().put_memories(drafts, watermark, name))  # type: ignore[misc]
        now = int(time.time() * 1000)
        with cast_super(self).tx() as db:
            cur = db.raw.cursor()
            wanted = list({(d.project_id, d.type, d.norm) for d in drafts})
            cur.execute("SELECT m.project_id, m.type, m.norm, m.id, m.status, m.importance,"
                        " m.last_seen FROM memories m JOIN unnest(%s::bigint[], %s::text[],"
                        " %s::text[]) AS k(p, t, n) ON m.project_id = k.p AND m.type = k.t"
                        " AND m.norm = k.n", _columns(wanted))
            stored = {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6]) for r in cur.fetchall()}
            folded, keys = fold(drafts, stored)
            new = [(k, f) for k, f in folded.items() if f.id is None]
            if new:
                cols = _columns([(k[0], k[1], f.draft.text if f.draft else "", k[2],
                                  float(f.importance), f.status, f.first_seen, f.last_seen,
                                  f.session, f.seen) for k, f in new])
                cur.execute(
                    "INSERT INTO memories (project_id, type, text, norm, importance, status,"
                    " first_seen, last_seen, session_id, seen_count, updated_at)"
                    " SELECT p, t, x, n, i, s, f, l, sid, c, %s FROM unnest(%s::bigint[],"
                    " %s::text[], %s::text[], %s::text[], %s::float8[], %s::text[], %s::bigint[],"
                    " %s::bigint[], %s::text[], %s::bigint[]) WITH ORDINALITY"
                    " AS d(p, t, x, n, i, s, f, l, sid, c, o) ORDER BY o"
                    " RETURNING project_id, type, norm, id", [now, *cols])
                for p, t, n, mid in cur.fetchall():
                    folded[(p, t, n)].id = mid
            old = [f for f in folded.values() if f.draft is None]
            if old:
                cur.execute(
                    "UPDATE memories m SET seen_count = m.seen_count + u.c, importance = u.i,"
                    " last_seen = u.l, status = u.s, session_id = coalesce(u.sid, m.session_id),"
                    " updated_at = %s FROM unnest(%s::bigint[], %s::bigint[], %s::float8[],"
                    " %s::bigint[], %s::text[], %s::text[]) AS u(id, c, i, l, s, sid)"
                    " WHERE m.id = u.id",
                    [now, *_columns([(f.id, f.seen, float(f.importance), f.last_seen, f.status,
                                      f.session) for f in old])])
            links = [(folded[k].id, d) for k, d in zip(keys, drafts, strict=True)]
            cast_super(self)._link(db, links)
            if watermark is not None:
                db.execute("INSERT INTO memory_state (name, value) VALUES (?, ?) ON CONFLICT(name)"
                           " DO UPDATE SET value = greatest(memory_state.value, excluded.value)",
                           (name, watermark))
            cast_super(self)._bump(db)
        return len(new)


    def _link(self, db: Any, links: list[tuple[int, MemoryDraft]]) -> None:
        """SQLite's evidence and entity rows, but each memory's entity ids in one statement
        for all (SQLite's INSERT ... SELECT per name is a statement per row here)."""
        # each pair once, each entity once: a memory's drafts name the same entities again,
        # and a conflicting INSERT takes an id from the sequence all the same (28k of them
        # for 948 entities at 150k messages)
        named = list(dict.fromkeys((mid, kind, name) for mid, d in links for kind, name in d.entities))
        super()._link(db, [(mid, _without_entities(d)) for mid, d in links])  # type: ignore[misc]
        if named:
            db.executemany("INSERT INTO entities (kind, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           list(dict.fromkeys((kind, name) for _, kind, name in named)))
            db.raw.execute("INSERT INTO memory_entities (memory_id, entity_id) SELECT k.m, e.id"
                           " FROM unnest(%s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY"
                           " AS k(m, kind, name, o) JOIN entities e ON e.kind = k.kind"
                           " AND e.name = k.name ORDER BY k.o ON CONFLICT DO NOTHING",
                           _columns(named))


def _without_entities(d: MemoryDraft) -> MemoryDraft:
    return replace(d, entities=[]) if d.entities else d


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as columns: the arrays unnest() turns back into rows."""
    return [list(c) for c in zip(*rows, strict=True)]


def cast_super(obj: Any) -> Any:
    """The store this mixin is part of (PostgresStore), for mypy."""
    return obj
