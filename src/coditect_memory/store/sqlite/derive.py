"""Session derivation on SQLite: the rows derive.sessions reads and what it writes.

Every query works on all dirty sessions at once (a temp table of their ids), so a first run
over thousands of sessions costs a few scans, not thousands of small queries. Writes touch
only rows that change, one UPDATE per row or session: an UPDATE ... FROM over messages would
first gather every matching row in a temp table (with the backup triggers, whole rows: GBs
of RAM at a million messages).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ...derive.links import LINK_EXACT_MS
from ...derive.sessions import (
    HistoryLine,
    Link,
    NamedRow,
    PromptLine,
    SessionFacts,
    TitleLine,
    ToolResult,
    derive_facts,
    derive_rows,
)
from ...derive.titles import TITLE_TYPES
from .backend import CACHE_KIB
from .packing import sid_sql, uid_sql, uuid_sql
from .queries import PROMPT
from .rollups import refresh
from .rollups_behind import FirstBuild, first_build

DERIVE_CACHE_KIB = 32768
# messages' and api_usage's session_id is a uuid's 16 bytes (migrations 0027, 0028:
# packing.uuid_key); sessions and the temp tables keep the text, so those two compare through
# uuid_bytes and read packing.sid_sql.
_IN_DIRTY = "session_id IN (SELECT uuid_bytes(id) FROM dirty_ids)"
_SID = sid_sql("session_id")


def derive_sessions(store: Any) -> int:
    """Derive the dirty sessions, then bring the report rollups up to date (so reports, which
    may run on a store they cannot write, find them fresh).

    Two transactions: the rows (derive_rows), then the sessions' facts (derive_facts). A first
    build of the rollups reads the settled rows on a second connection meanwhile and lands
    once the facts are committed (rollups_behind.py): before this returns, or, within the
    store's `reports_behind`, by its end.

    Derivation scans and sorts rather than inserting at random, so it runs with a small
    page cache: SQLite's sorter may also hold as much as the cache before it spills to a
    file, and the two together took a 1M first ingest from 313 to 476 MB resident."""
    store.db.execute(f"PRAGMA cache_size = -{DERIVE_CACHE_KIB}")
    try:
        with store.tx() as db:
            n = derive_rows(SQLiteDirtySessions(db))
        # the rows are settled: a first build of the rollups reads them while the sessions'
        # facts are derived (and, in reports_behind, while the caller goes on)
        build = FirstBuild(store) if first_build(store.db) else None
        try:
            with store.tx() as db:
                derive_facts(SQLiteDirtySessions(db))
        except BaseException:
            if build is not None:
                build.cancel()
            raise
        if build is None:
            refresh(store)
        else:
            build.derived()
            if not store._leave_behind(build):
                build.wait()
    finally:
        store.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    # The rollups' first build sorts every row; give that memory back before the search
    # index is built in the same process (a 1M first ingest peaked at 560 MB without this
    # and temp_store=FILE; 478 MB with them).
    store.db.execute("PRAGMA shrink_memory")
    return n



# The message a resumed session's first line names (sessions.parent_ref), in another session.
# The index (0023) holds the first 8 bytes of ext_id: of the uuid's 16 (packing.uuid_key) or,
# in a row stored before migration 24, of its text.
LINK_PARENT = f"""
    WHERE substr(p.ext_id, 1, 8) IN (substr(uuid_bytes(sessions.parent_ref), 1, 8),
                                     substr(sessions.parent_ref, 1, 8))
      AND p.ext_id IS NOT NULL AND {uuid_sql('p.ext_id')} = sessions.parent_ref
      AND p.session_id <> uuid_bytes(sessions.id) LIMIT 1"""

class SQLiteDirtySessions:
    """derive.sessions.DirtySessions over temp.dirty_ids, in the caller's transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS dirty_ids (id TEXT PRIMARY KEY)")
        db.execute("DELETE FROM temp.dirty_ids")
        db.execute("INSERT INTO temp.dirty_ids SELECT id FROM sessions WHERE dirty = 1")

    def ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM temp.dirty_ids")]

    def settle_projects(self) -> None:
        """A session belongs to one project (its first working directory), and so do its
        messages, even when it later ran in a subfolder (that `cwd` stays in the metadata)."""
        db = self.db
        db.executemany(
            "UPDATE messages SET project_id = ? WHERE session_id = uuid_bytes(?) AND project_id IS NOT ?",
            db.execute("SELECT s.project_id, s.id, s.project_id FROM sessions s JOIN dirty_ids d"
                       " ON d.id = s.id WHERE s.project_id IS NOT NULL").fetchall())
        db.execute("""
            DELETE FROM projects
            WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.project_id = projects.id)
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.project_id = projects.id)""")

    def unlinked_history(self) -> list[HistoryLine]:
        return [HistoryLine(*r) for r in self.db.execute(f"""
            SELECT id, {_SID}, project_id, ts, content
            FROM messages INDEXED BY messages_history_unlinked
            WHERE source_kind = 'history' AND linked_uid IS NULL AND type = 'user'
              AND ts IS NOT NULL AND ({_IN_DIRTY}
                                      OR (session_id IS NULL AND project_id IS NOT NULL))""")]

    def prompt_candidates(self, history: Sequence[HistoryLine]) -> Iterator[PromptLine]:
        db = self.db
        sessions = {h.session_id for h in history if h.session_id is not None}
        if any(h.session_id is None for h in history):
            # the sessions of their projects that were active around them
            sessions.update(r[0] for r in db.execute(f"""
                SELECT DISTINCT s.id FROM sessions s
                JOIN messages h INDEXED BY messages_history_unlinked
                  ON h.project_id = s.project_id AND h.session_id IS NULL
                 AND h.source_kind = 'history' AND h.linked_uid IS NULL AND h.type = 'user'
                 AND h.ts BETWEEN s.started_at - {LINK_EXACT_MS} AND s.ended_at + {LINK_EXACT_MS}"""))
        if not sessions:
            return
        db.execute("CREATE TEMP TABLE IF NOT EXISTS link_ids (id TEXT PRIMARY KEY)")
        db.execute("DELETE FROM temp.link_ids")
        db.executemany("INSERT INTO temp.link_ids VALUES (?)", [(s,) for s in sessions])
        for r in db.execute(f"""
                SELECT {uid_sql('m.uid')}, {sid_sql('m.session_id')}, s.project_id, m.ts, m.content, m.linked_uid
                FROM messages m JOIN sessions s ON s.id = {sid_sql('m.session_id')}
                WHERE m.session_id IN (SELECT uuid_bytes(id) FROM temp.link_ids) AND m.ts IS NOT NULL
                  AND ((m.source_kind = 'transcript' AND m.is_prompt = 1)
                       -- Claude Code 2.1 writes a local command (/model, /mcp) as a system line
                       OR (m.source_kind = 'transcript' AND m.is_sidechain = 0
                           AND m.type = 'system' AND m.component = 'Commands')
                       OR m.linked_uid IS NOT NULL)"""):
            yield PromptLine(*r)  # streamed: only each prompt's link key is kept (RSS at 1M)

    def write_links(self, links: Sequence[Link]) -> None:
        self.db.executemany("UPDATE messages SET linked_uid = ?, session_id = coalesce(session_id, uuid_bytes(?))"
                            " WHERE id = ?", links)
        joined = [(s,) for s in sorted({link.session_id for link in links})]
        self.db.executemany("INSERT OR IGNORE INTO temp.dirty_ids VALUES (?)", joined)
        # in the table too: derive_facts runs in a transaction of its own (derive_sessions)
        self.db.executemany("UPDATE sessions SET dirty = 1 WHERE id = ? AND dirty = 0", joined)

    def tool_results(self) -> Iterator[ToolResult]:
        """Results read in an earlier run than their call learn the tool's name now."""
        for r in self.db.execute(f"""
                SELECT r.id, r.type, r.component, r.is_error,
                       (SELECT u.tool_name FROM messages u WHERE u.session_id = r.session_id
                        AND u.tool_use_id = r.tool_use_id AND u.type = 'tool_use'
                        AND u.tool_name IS NOT NULL LIMIT 1)
                FROM messages r WHERE r.{_IN_DIRTY} AND r.tool_name IS NULL
                  AND r.tool_use_id IS NOT NULL AND r.type IN ('tool_result', 'tool_output')
                """):  # streamed; the names are written once it is read to the end
            yield ToolResult(r[0], r[1], r[2], bool(r[3]), r[4])

    def write_tool_names(self, rows: Sequence[NamedRow]) -> None:
        self.db.executemany("UPDATE messages SET tool_name = ?, count_kind = ?, count_name = ?"
                            " WHERE id = ?", [(r.tool_name, r.count_kind, r.count_name, r.id)
                                              for r in rows])

    def count(self) -> None:
        db = self.db
        db.execute(f"""
            WITH agg AS (
                SELECT {_SID} AS id, count(*) AS n, min(ts) AS t0, max(ts) AS t1,
                       sum({PROMPT}) AS prompts, sum(type = 'tool_use') AS tools, sum(is_error) AS errs
                FROM messages WHERE {_IN_DIRTY} AND deleted_at IS NULL GROUP BY session_id)
            UPDATE sessions SET message_count = agg.n, prompt_count = agg.prompts,
                   tool_call_count = agg.tools, error_count = agg.errs,
                   started_at = coalesce(agg.t0, sessions.started_at),
                   ended_at = coalesce(agg.t1, sessions.ended_at)
            FROM agg WHERE sessions.id = agg.id""")
        db.execute(f"""
            WITH u AS (
                SELECT {_SID} AS id, sum(input_tokens) AS i, sum(output_tokens) AS o,
                       sum(cache_read_tokens) AS r, sum(cache_write_tokens) AS w
                FROM api_usage WHERE {_IN_DIRTY} GROUP BY session_id)
            UPDATE sessions SET input_tokens = u.i, output_tokens = u.o, cache_read_tokens = u.r,
                   cache_write_tokens = u.w FROM u WHERE sessions.id = u.id""")

    def title_lines(self) -> Iterator[TitleLine]:
        types = ", ".join(f"'{t}'" for t in TITLE_TYPES)
        for r in self.db.execute(f"""
                SELECT {_SID}, type, content, ({PROMPT}) FROM messages
                WHERE {_IN_DIRTY} AND content <> '' AND (type IN ({types}) OR ({PROMPT}))
                ORDER BY session_id, ts, id"""):
            yield TitleLine(r[0], r[1], r[2], bool(r[3]))

    def model_uses(self) -> list[tuple[str, str, int]]:
        return [tuple(r) for r in self.db.execute(f"""
            SELECT {_SID}, model, count(*) FROM messages
            WHERE {_IN_DIRTY} AND model IS NOT NULL GROUP BY session_id, model""")]

    def write_titles(self, rows: Sequence[SessionFacts]) -> None:
        self.db.executemany("UPDATE sessions SET title = ?, summary = ?, first_prompt = ?,"
                            " model = ? WHERE id = ?",
                            [(r.title, r.summary, r.first_prompt, r.model, r.session_id)
                             for r in rows])

    def link_parents(self) -> None:
        self.db.execute(f"""
            UPDATE sessions SET parent_session_id = (SELECT {sid_sql('p.session_id')} FROM messages p{LINK_PARENT})
            WHERE id IN (SELECT id FROM dirty_ids) AND parent_ref IS NOT NULL""")

    def done(self) -> None:
        self.db.execute("UPDATE sessions SET dirty = 0 WHERE id IN (SELECT id FROM temp.dirty_ids)")
