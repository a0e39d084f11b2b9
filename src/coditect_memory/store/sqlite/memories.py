"""The SQLite backend's side of memories: extraction input, consolidation, packs, checkpoints.

Plain SQL any backend can mirror: `INSERT ... ON CONFLICT` consolidates a draft into the
memory with the same (project, type, norm); every statement is parameterised.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

import orjson

from ...timeutil import iso
from ..protocol.memories import (
    EXTRACT_TOOLS,
    Evidence,
    ExtractRow,
    Memory,
    MemoryDraft,
    MemoryFilter,
    Related,
)
from .memory_fold import Key, fold
from .packing import content_sql, sid_sql, uid_sql

_extract_row = partial(tuple.__new__, ExtractRow)
# What the rules read: conversation text and tool calls, todos, plans, memory notes. History
# lines that copy a transcript prompt (linked_uid) would only repeat it.
_EXTRACT = (f"SELECT id, {uid_sql('uid')}, {sid_sql('session_id')}, project_id, source_kind, type, role,"
            # a command's output is read only when it failed: the rules pair a success with
            # the failure before it by the call alone (59k Bash results at 1M, most of them
            # successes whose text was unpacked for nothing)
            f" CASE WHEN type = 'tool_result' AND is_error = 0 THEN NULL ELSE {content_sql('')} END, ts,"
            # in id order, so a batch stops at its last row: through messages_source (the
            # planner's pick) each batch went over every row left of these kinds and sorted
            # them (reading for extraction took 1.4 s CPU at 150k messages, 1.1 s in id order)
            " tool_name, tool_use_id, is_error, is_meta, is_prompt FROM messages NOT INDEXED"
            " WHERE id > ? AND id <= ? AND deleted_at IS NULL AND linked_uid IS NULL"
            " AND source_kind IN ('transcript', 'todo', 'plan')"
            " AND type IN ('user', 'assistant', 'tool_use', 'tool_result', 'summary', 'todo',"
            " 'todos', 'task', 'plan', 'memory_note', 'compact_summary')"
            # only rows memories.extract.Extractor.feed reads: most tool results and injected
            # lines were read and dropped in Python (5% of a 1M first ingest)
            " AND (content <> '' OR content_z IS NOT NULL OR type = 'tool_result')"
            " AND (is_meta = 0 OR type = 'compact_summary')"
            " AND (type <> 'user' OR is_prompt = 1) AND (type <> 'tool_result' OR tool_name = 'Bash')"
            # and of the tool calls only those whose arguments it reads (a quarter of the rows)
            f" AND (type <> 'tool_use' OR tool_name IN ({', '.join(repr(t) for t in EXTRACT_TOOLS)}))"
            " ORDER BY id LIMIT ?")
DECAY_EVERY_MS = 6 * 3_600_000  # decay a memory at most this often: each write is logged for backups
_COLS = ("m.id, p.path, p.name, m.type, m.text, m.importance, m.pinned, m.origin, m.status,"
         " m.seen_count, m.first_seen, m.last_seen, m.last_used, m.session_id")


def _now() -> int:
    return int(time.time() * 1000)


class SQLiteMemories:
    # Provided by SQLiteStore.
    db: sqlite3.Connection

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    _sync_identity: Callable[[sqlite3.Connection, int], None]  # SQLiteSyncMutable's

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        """SQLiteAccess's: a new store generation, so the API's cache drops what a write of
        memories or checkpoints (by any door) made stale."""
        raise NotImplementedError

    def _memory_rows(self, where: str, params: Iterable[Any], tail: str = "",
                     with_entities: bool = True) -> list[Memory]:
        rows = self.db.execute(f"SELECT {_COLS} FROM memories m LEFT JOIN projects p"
                               f" ON p.id = m.project_id WHERE {where} {tail}", tuple(params)).fetchall()
        ents: dict[int, list[str]] = {}
        ids = [r[0] for r in rows] if with_entities else []
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for mid, kind, name in self.db.execute(
                    "SELECT me.memory_id, e.kind, e.name FROM memory_entities me JOIN entities e"
                    f" ON e.id = me.entity_id WHERE me.memory_id IN ({', '.join('?' * len(part))})"
                    " ORDER BY e.kind, e.name", part):
                ents.setdefault(mid, []).append(f"{kind}:{name}")
        return [Memory(id=r[0], project=r[1], project_name=r[2], type=r[3], text=r[4],
                       importance=round(r[5], 4), pinned=bool(r[6]), origin=r[7], status=r[8],
                       seen_count=r[9], first_seen=iso(r[10]), last_seen=iso(r[11]),
                       last_used=iso(r[12]), session_id=r[13], entities=ents.get(r[0], []))
                for r in rows]

    # --- extraction ------------------------------------------------------------------
    def memory_watermark(self, name: str = "extract") -> int:
        row = self.db.execute("SELECT value FROM memory_state WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def rows_to_extract(self, after_id: int, upto_id: int, batch: int = 20000) -> list[ExtractRow]:
        cur = self.db.cursor()
        cur.row_factory = None
        rows = [_extract_row(r) for r in cur.execute(_EXTRACT, (after_id, upto_id, batch))]
        notes = [r for r in rows if r.type == "memory_note" and r.project_id is None]
        return [r._replace(project_id=self._note_project(r.id)) if r in notes else r
                for r in rows] if notes else rows

    def _note_project(self, message_id: int) -> int | None:
        """A memory note (projects/<slug>/memory/*.md) belongs to the project whose path
        Claude Code turned into <slug> ('/' and '.' become '-')."""
        row = self.db.execute("SELECT f.path FROM messages m JOIN source_files f ON f.id ="
                              " m.source_file_id WHERE m.id = ?", (message_id,)).fetchone()
        parts = row[0].split("/") if row and row[0] else []
        if len(parts) < 3 or parts[0] != "projects":
            return None
        for pid, path in self.db.execute("SELECT id, path FROM projects"):
            if path.replace("/", "-").replace(".", "-") == parts[1]:
                return int(pid)
        return None

    def put_memories(self, drafts: list[MemoryDraft], watermark: int | None = None,
                     name: str = "extract") -> int:
        """Each draft consolidated into the memory of its (project, type, norm): folded in
        Python first, by the rules PostgreSQL's put_memories folds by (a key seen again is
        reinforced), so a memory is looked up and written once per call, not once per draft
        (a first ingest's drafts repeat: 120k drafts, 15k memories at 1M messages)."""
        now = _now()
        with self.tx() as db:
            stored: dict[Key, tuple[int, str, float, int | None]] = {}
            for key in dict.fromkeys((d.project_id, d.type, d.norm) for d in drafts):
                row = db.execute("SELECT id, status, importance, last_seen FROM memories WHERE"
                                 " project_id = ? AND type = ? AND norm = ?", key).fetchone()
                if row is not None:
                    stored[key] = (row[0], row[1], row[2], row[3])
            folded, keys = fold(drafts, stored)
            new = 0
            for (project_id, kind, norm), f in folded.items():  # as the drafts first named them
                if f.draft is not None:
                    f.id = int(db.execute(
                        "INSERT INTO memories (project_id, type, text, norm, importance, status,"
                        " first_seen, last_seen, session_id, updated_at, seen_count)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        (project_id, kind, f.draft.text, norm, f.importance, f.status, f.first_seen,
                         f.last_seen, f.session, now, f.seen)).fetchone()[0])
                    new += 1
            db.executemany(
                "UPDATE memories SET seen_count = seen_count + ?, importance = ?, last_seen = ?,"
                " status = ?, session_id = coalesce(?, session_id), updated_at = ? WHERE id = ?",
                [(f.seen, f.importance, f.last_seen, f.status, f.session, now, f.id)
                 for f in folded.values() if f.draft is None])
            self._link(db, [(int(folded[k].id or 0), d) for k, d in zip(keys, drafts, strict=True)])
            if watermark is not None:
                db.execute("INSERT INTO memory_state (name, value) VALUES (?, ?) ON CONFLICT(name)"
                           " DO UPDATE SET value = max(memory_state.value, excluded.value)", (name, watermark))
            if drafts:
                self._bump(db)
        return new

    def _link(self, db: sqlite3.Connection, links: list[tuple[int, MemoryDraft]]) -> None:
        """The evidence and entities of these memories: one statement each for all of them
        (on a database server, a round trip each rather than one per entity)."""
        evidence = [(mid, uid, sid, ts) for mid, d in links for uid, sid, ts in d.evidence]
        # each pair once, in the order first named: a memory's drafts name the same entities
        # again (80k pairs of 3.4k memories at 300k messages; _link took 0.8 s CPU)
        named = list(dict.fromkeys((mid, kind, name) for mid, d in links for kind, name in d.entities))
        if evidence:
            db.executemany("INSERT INTO memory_evidence (memory_id, uid, session_id, ts)"
                           " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", evidence)
        if named:
            db.executemany("INSERT INTO entities (kind, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           list(dict.fromkeys((kind, name) for _, kind, name in named)))
            db.executemany("INSERT INTO memory_entities (memory_id, entity_id) SELECT ?, id FROM"
                           " entities WHERE kind = ? AND name = ? ON CONFLICT DO NOTHING", named)

    # --- a person's hand -------------------------------------------------------------
    def add_memory(self, draft: MemoryDraft, pinned: bool = False) -> int:
        now = _now()
        with self.tx() as db:
            row = db.execute("SELECT id, pinned, importance FROM memories WHERE project_id = ?"
                             " AND type = ? AND norm = ?",
                             (draft.project_id, draft.type, draft.norm)).fetchone()
            if row is not None:  # said again by hand: it is the person's now
                mid = int(row[0])
                db.execute("UPDATE memories SET text = ?, origin = 'user', status = 'active',"
                           " pinned = ?, importance = ?, last_seen = ?, updated_at = ? WHERE id = ?",
                           (draft.text, max(row[1], int(pinned)), max(row[2], draft.importance),
                            now, now, mid))
            else:
                mid = int(db.execute(
                    "INSERT INTO memories (project_id, type, text, norm, importance, pinned, origin,"
                    " first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'user', ?, ?, ?)"
                    " RETURNING id",
                    (draft.project_id, draft.type, draft.text, draft.norm, draft.importance,
                     int(pinned), now, now, now)).fetchone()[0])
            self._link(db, [(mid, draft)])
            self._bump(db)
        return mid

    def update_memory(self, memory_id: int, *, text: str | None = None, norm: str | None = None,
                      type: str | None = None, importance: float | None = None,
                      pinned: bool | None = None, status: str | None = None) -> bool:
        sets: list[str] = []
        params: list[Any] = []
        for col, value in (("text", text), ("norm", norm), ("type", type), ("importance", importance),
                           ("pinned", None if pinned is None else int(pinned)), ("status", status)):
            if value is not None:
                sets.append(f"{col} = ?")
                params.append(value)
        if text is not None:
            sets.append("origin = 'user'")  # edited by hand: extraction never overwrites it
        with self.tx() as db:
            if not db.execute("SELECT 1 FROM memories WHERE id = ?", (memory_id,)).fetchone():
                return False
            if sets:
                self._sync_identity(db, memory_id)  # store/sqlite/sync_mutable.py
                db.execute(f"UPDATE memories SET {', '.join(sets)}, updated_at = ? WHERE id = ?",
                           (*params, _now(), memory_id))
                self._bump(db)
        return True

    def touch_memories(self, ids: list[int], now: int) -> None:
        if ids and not getattr(self, "readonly", False):
            with self.tx() as db:
                db.executemany("UPDATE memories SET last_used = ? WHERE id = ?"
                               " AND last_used IS NOT ?", [(now, i, now) for i in ids])
                self._bump(db)

    # --- reading ---------------------------------------------------------------------
    def memories(self, flt: MemoryFilter) -> list[Memory]:
        where = [f"m.status IN ({', '.join('?' * len(flt.statuses))})"]
        params: list[Any] = list(flt.statuses)
        if flt.project_id is not None:
            where.append("m.project_id IN (?, 0)")
            params.append(flt.project_id)
        if flt.visible_projects is not None:
            where.append(f"m.project_id IN ({', '.join('?' * len(flt.visible_projects)) or 'NULL'})"
                         " AND m.project_id <> 0")
            params += flt.visible_projects
        if flt.types:
            where.append(f"m.type IN ({', '.join('?' * len(flt.types))})")
            params += flt.types
        if flt.pinned_only:
            where.append("m.pinned = 1")
        for word in flt.words:
            where.append("m.norm LIKE ? ESCAPE '\\'")
            params.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        for kind, n in flt.min_seen.items():
            where.append("(m.type <> ? OR m.seen_count >= ? OR m.pinned = 1)")
            params += [kind, n]
        return self._memory_rows(" AND ".join(where), params,
                                 "ORDER BY m.pinned DESC, m.importance DESC, m.last_seen DESC,"
                                 f" m.id DESC LIMIT {int(flt.limit)}", flt.with_entities)

    def memory(self, memory_id: int) -> Memory | None:
        rows = self._memory_rows("m.id = ?", (memory_id,))
        return rows[0] if rows else None

    def memory_evidence(self, memory_id: int, limit: int = 50) -> list[Evidence]:
        return [Evidence(uid=r[0], session_id=r[1], timestamp=iso(r[2])) for r in self.db.execute(
            "SELECT uid, session_id, ts FROM memory_evidence WHERE memory_id = ?"
            " ORDER BY ts DESC LIMIT ?", (memory_id, limit))]

    def related(self, entity: str, limit: int = 50) -> Related:
        suffix = "%/" + entity.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        ent_ids = [r[0] for r in self.db.execute(
            "SELECT id FROM entities WHERE name = ? OR name LIKE ? ESCAPE '\\'", (entity, suffix))]
        if not ent_ids:
            return Related(entity=entity, memories=[], sessions=[], entities=[])
        marks = ", ".join("?" * len(ent_ids))
        mem_ids = f"SELECT memory_id FROM memory_entities WHERE entity_id IN ({marks})"
        memories = self._memory_rows(f"m.id IN ({mem_ids}) AND m.status <> 'forgotten'", ent_ids,
                                     f"ORDER BY m.importance DESC, m.last_seen DESC LIMIT {int(limit)}")
        sessions = [{"session_id": r[0], "timestamp": iso(r[1]), "memories": r[2]} for r in self.db.execute(
            "SELECT session_id, max(ts), count(DISTINCT memory_id) FROM memory_evidence"
            f" WHERE memory_id IN ({mem_ids}) AND session_id IS NOT NULL GROUP BY session_id"
            " ORDER BY max(ts) DESC LIMIT ?", (*ent_ids, limit))]
        others = [{"entity": f"{r[0]}:{r[1]}", "shared": r[2]} for r in self.db.execute(
            "SELECT e.kind, e.name, count(*) FROM memory_entities me JOIN entities e ON e.id ="
            f" me.entity_id WHERE me.memory_id IN ({mem_ids}) AND me.entity_id NOT IN ({marks})"
            " GROUP BY e.id ORDER BY count(*) DESC, e.name LIMIT ?", (*ent_ids, *ent_ids, limit))]
        return Related(entity=entity, memories=memories, sessions=sessions, entities=others)

    def project_for_cwd(self, cwd: str) -> tuple[int, str, str] | None:
        path = cwd.rstrip("/") or "/"
        candidates = [path]
        while "/" in path.strip("/"):
            path = path.rsplit("/", 1)[0]
            candidates.append(path)
        marks = ", ".join("?" * len(candidates))
        row = self.db.execute(f"SELECT id, path, name FROM projects WHERE path IN ({marks})"
                              " ORDER BY length(path) DESC LIMIT 1", candidates).fetchone()
        return (row[0], row[1], row[2]) if row else None

    # --- lifecycle -------------------------------------------------------------------
    def decay_memories(self, now: int, half_life_days: dict[str, float], archive_below: float) -> int:
        rows = self.db.execute(
            "SELECT id, project_id, type, importance, last_seen, last_used, decayed_at"
            " FROM memories WHERE status = 'active' AND pinned = 0"
            " AND origin = 'extracted' AND coalesce(decayed_at, 0) < ?",
            (now - DECAY_EVERY_MS,)).fetchall()
        # A project's clock is its own latest activity: a project left for months is found
        # as it was left (its open todos still open), and fades only as work goes on there.
        clock = {pid: min(now, last or now) for pid, last in self.db.execute(
            "SELECT project_id, max(last_seen) FROM memories WHERE project_id <> 0 GROUP BY project_id")}
        changes: list[tuple[float, str, int, int]] = []
        archived = 0
        for mid, pid, kind, importance, *times in rows:
            since = max(t or 0 for t in times)
            half = half_life_days.get(kind, 0) * 86_400_000
            at = clock.get(pid, now)
            if half <= 0 or not since or at <= since:  # no date known: no age to fade by
                continue
            value = importance * 0.5 ** ((at - since) / half)
            status = "archived" if value < archive_below else "active"
            archived += status == "archived"
            changes.append((value, status, at, mid))  # decayed up to its project's clock
        if changes:
            with self.tx() as db:
                db.executemany("UPDATE memories SET importance = ?, status = ?, decayed_at = ?"
                               " WHERE id = ?", changes)
                self._bump(db)
        return archived

    # --- packs and checkpoints -------------------------------------------------------
    def put_pack(self, pack_id: str, project_id: int, created_at: int, body: dict[str, Any]) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO context_packs (id, project_id, created_at, body) VALUES"
                       " (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (pack_id, project_id, created_at, orjson.dumps(body).decode()))

    def packs(self, project_id: int, limit: int = 2) -> list[dict[str, Any]]:
        return [orjson.loads(r[0]) for r in self.db.execute(
            "SELECT body FROM context_packs WHERE project_id = ? ORDER BY created_at DESC, rowid DESC"
            " LIMIT ?", (project_id, limit))]

    def put_checkpoint(self, checkpoint_id: str, project_id: int, session_id: str | None,
                       note: str | None, created_at: int, body: dict[str, Any]) -> bool:
        with self.tx() as db:
            cur = db.execute("INSERT INTO checkpoints (id, project_id, session_id, note, created_at,"
                             " body) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                             (checkpoint_id, project_id, session_id, note, created_at,
                              orjson.dumps(body).decode()))
            if cur.rowcount > 0:
                self._bump(db)
            return cur.rowcount > 0

    def checkpoints(self, project_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        where, params = ("WHERE project_id = ?", [project_id]) if project_id is not None else ("", [])
        return [orjson.loads(r[0]) for r in self.db.execute(
            f"SELECT body FROM checkpoints {where} ORDER BY created_at DESC LIMIT ?", (*params, limit))]

    def checkpoint(self, checkpoint_id: str) -> dict[str, Any] | None:
        pattern = checkpoint_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute("SELECT body FROM checkpoints WHERE id = ? OR id LIKE ? ESCAPE '\\'"
                               " LIMIT 2", (checkpoint_id, pattern)).fetchall()
        return orjson.loads(rows[0][0]) if len(rows) == 1 else None
