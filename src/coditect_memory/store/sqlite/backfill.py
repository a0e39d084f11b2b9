"""Code steps of migrations: what SQL cannot compute, because the rule lives in Python."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ...derive import row_facts
from ...derive.signatures import HEAD

CHUNK = 50_000
_NOTHING = (0, None, None, None)


def fill_row_facts(db: sqlite3.Connection) -> None:
    """Migration 7: the derived columns of the rows already stored, written only where they
    are not the default (prompts, rows that count for a name, errors), in id order.

    The backup update trigger of messages is dropped first: the ALTERs moved the schema
    cookie, so the next backup is a full one anyway, and logging a million updates would
    only fill the change log. `changes.settle_triggers` re-creates it right after migrating
    (on a backed-up store)."""
    db.execute('DROP TRIGGER IF EXISTS "backup_u_messages"')
    last = 0
    while True:
        rows = db.execute(f"""
            SELECT id, type, source_kind, is_meta, is_sidechain, component, is_error, tool_name,
                   CASE WHEN is_error = 1 THEN substr(content, 1, {HEAD}) END
            FROM messages WHERE id > ? ORDER BY id LIMIT {CHUNK}""", (last,)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        out = []
        for mid, type_, kind, is_meta, side, comp, is_error, tool, content in rows:
            facts = row_facts(type_, kind, bool(is_meta), bool(side), comp, bool(is_error), tool,
                              content)
            if facts != _NOTHING:
                out.append((*facts, mid))
        db.executemany("UPDATE messages SET is_prompt = ?, count_kind = ?, count_name = ?,"
                       " error_signature = ? WHERE id = ?", out)


# migration version -> its code step, run in the migration's transaction after its SQL
STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {7: fill_row_facts}
