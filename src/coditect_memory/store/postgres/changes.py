"""Incremental backups of a PostgreSQL store: SQLite's change tracking (store/sqlite/changes.py)
on PostgreSQL triggers, written into a delta file that restore applies to the full backup's
image (a SQLite store, copy.py's `dump`).

PostgreSQL-only DDL, made here when a store opens writable (as SQLite makes its triggers,
so a table a later migration adds is covered): two columns on backup_changes (`pk`, a
changed row's key as JSON; `xid`, the writing transaction) and triggers. Each table is
tracked by its key:

- id: a single integer primary key, or the `rowid` column PostgreSQL gives api_usage and
  context_packs. Rows above the table's mark are new since a backup; a change to a row at
  or below it is logged by a row trigger whose WHEN holds the mark as a constant (the
  trigger is remade when the mark rises), so ingest's inserts, above every mark, cost one
  comparison and no function call.
- key: another primary key (text, composite): every change is logged with its key, by a
  statement trigger (one INSERT ... SELECT per statement), once the table has a mark (a
  store never backed up logs nothing).
- whole: no key at all (the report rollups report_days, report_names, report_usage, which
  are rewritten per session): copied whole into each incremental (77k small rows at 1M
  messages).

Writers are concurrent here, unlike SQLite's. So `mark` locks each table (waiting for
writers in flight, holding off new ones until it commits) before reading its highest key:
no row at or below a mark commits later unlogged. And a delta takes the log lines of the
transactions its parent's snapshot did not see (`xid` against the recorded snapshot), not
merely the lines after the parent's highest sequence number, which a slower transaction
could still add to.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base import DeltaUnavailable
from ..sqlite import backfill, digest
from ..sqlite import changes as lite_changes
from ..sqlite.changes import BOOKKEEPING, LOG_LIMIT
from ..sqlite.packing import sql_functions
from . import deferred

CHUNK = 20_000
# a schema change makes the next backup full; deferred indexes are this server's own business
_UNTRACKED = {*BOOKKEEPING, "schema_migrations", deferred.TABLE}

_SETUP = """
ALTER TABLE backup_changes ADD COLUMN IF NOT EXISTS pk TEXT;
ALTER TABLE backup_changes ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX IF NOT EXISTS backup_changes_xid ON backup_changes(xid);
CREATE OR REPLACE FUNCTION backup_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k text := TG_ARGV[0];
    upto bigint := TG_ARGV[1]::bigint;
    o jsonb;
    n jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW); END IF;
    IF o IS NOT NULL AND (o->>k)::bigint <= upto THEN
        INSERT INTO backup_changes (tbl, row, op, old_uid, old_hash) VALUES (TG_TABLE_NAME,
            (o->>k)::bigint, CASE TG_OP WHEN 'DELETE' THEN 'd' ELSE 'u' END,
            o->>'uid', o->>'content_hash');
    END IF;
    IF n IS NOT NULL AND (n->>k)::bigint <= upto AND (o IS NULL OR o->>k <> n->>k) THEN
        INSERT INTO backup_changes (tbl, row, op) VALUES (TG_TABLE_NAME, (n->>k)::bigint, 'i');
    END IF;
    RETURN NULL;
END $$;
"""
# an id table's row triggers: the mark is a constant in WHEN and the function's argument
_ROW_TRIGGERS = (("i", "INSERT", 'NEW."{k}" <= {upto}'),
                 ("u", "UPDATE", 'OLD."{k}" <= {upto} OR NEW."{k}" <= {upto}'),
                 ("d", "DELETE", 'OLD."{k}" <= {upto}'))
_KEY_FUNCTION = """CREATE OR REPLACE FUNCTION "backup_log_{t}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM backup_marks WHERE tbl = '{t}') THEN RETURN NULL; END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO backup_changes (tbl, row, op, pk) SELECT '{t}', 0, 'i', {n_key} FROM n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO backup_changes (tbl, row, op, pk) SELECT '{t}', 0, 'd', {o_key} FROM o;
    ELSE
        INSERT INTO backup_changes (tbl, row, op, pk) SELECT '{t}', 0, 'u', {o_key} FROM o;
        INSERT INTO backup_changes (tbl, row, op, pk) SELECT '{t}', 0, 'i', {n_key} FROM n
            WHERE NOT EXISTS (SELECT 1 FROM o WHERE {same});
    END IF;
    RETURN NULL;
END $$"""
_KEY_TRIGGERS = (("i", "INSERT", "NEW TABLE AS n"), ("u", "UPDATE", "OLD TABLE AS o NEW TABLE AS n"),
                 ("d", "DELETE", "OLD TABLE AS o"))


@dataclass(frozen=True)
class Table:
    name: str
    cols: list[str]  # as SQLite has them (PostgreSQL's own `rowid` left out)
    types: dict[str, str]
    kind: str  # id | key | whole
    key: list[str]  # id: one column (maybe `rowid`); key: the primary key; whole: none

    @property
    def rowid(self) -> bool:
        """The key is PostgreSQL's `rowid` column, SQLite's implicit rowid in the image."""
        return self.key == ["rowid"]

    @property
    def selected(self) -> list[str]:
        return (["rowid"] if self.rowid else []) + self.cols


def tables(pg: Any) -> list[Table]:
    """The tracked tables of the store at `pg` (a psycopg connection), with their keys."""
    found: dict[str, list[tuple[str, str, int | None]]] = {}  # (column, type, place in the pk)
    for t, col, typ, pk in pg.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
            " (SELECT array_position(i.indkey::int2[], a.attnum) FROM pg_index i"
            "  WHERE i.indrelid = c.oid AND i.indisprimary)"
            " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
            " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"):
        if t not in _UNTRACKED:
            found.setdefault(t, []).append((col, typ, pk))
    out = []
    for t, cols in sorted(found.items()):
        types = {c: typ for c, typ, _ in cols}
        pk = [c for c, _, p in sorted((c for c in cols if c[2] is not None), key=lambda c: c[2] or 0)]
        if "rowid" in types:
            kind, key = "id", ["rowid"]
        elif len(pk) == 1 and types[pk[0]] == "bigint":
            kind, key = "id", pk
        else:
            kind, key = ("key", pk) if pk else ("whole", [])
        out.append(Table(t, [c for c in types if c != "rowid"], types, kind, key))
    return out


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _row_triggers(t: Table, upto: int) -> list[str]:
    k = t.key[0]
    return [f'CREATE OR REPLACE TRIGGER "backup_{op}_{t.name}" AFTER {event} ON {_q(t.name)}'
            f" FOR EACH ROW WHEN ({when.format(k=k, upto=int(upto))})"
            f" EXECUTE FUNCTION backup_log_row('{k}', '{int(upto)}')"
            for op, event, when in _ROW_TRIGGERS]


def _key_triggers(t: Table) -> list[str]:
    def key(alias: str) -> str:
        return f"jsonb_build_array({', '.join(f'{alias}.{_q(c)}' for c in t.key)})::text"

    same = " AND ".join(f"o.{_q(c)} = n.{_q(c)}" for c in t.key)
    return [_KEY_FUNCTION.format(t=t.name, n_key=key("n"), o_key=key("o"), same=same)] + [
        f'CREATE OR REPLACE TRIGGER "backup_{op}_{t.name}" AFTER {event} ON {_q(t.name)}'
        f' REFERENCING {ref} FOR EACH STATEMENT EXECUTE FUNCTION "backup_log_{t.name}"()'
        for op, event, ref in _KEY_TRIGGERS]


def install(pg: Any) -> int:
    """Make what tracking lacks (after migrations, in a write transaction; a no-op once all
    is there); returns the tables given triggers."""
    have = {r[0] for r in pg.execute(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'backup\\_%'")}
    todo = [t for t in tables(pg) if t.kind != "whole"
            and not {f"backup_{op}_{t.name}" for op in "iud"} <= have]
    if not todo:
        return 0
    pg.execute(_SETUP)
    marks = dict(pg.execute("SELECT tbl, upto FROM backup_marks").fetchall())
    for t in todo:
        for ddl in (_row_triggers(t, marks.get(t.name, 0)) if t.kind == "id" else _key_triggers(t)):
            pg.execute(ddl)
    return len(todo)


def mark(pg: Any) -> None:
    """Raise the marks (in a write transaction, committed before the backup's snapshot), as
    SQLite's `mark`; each table locked first, so its highest key is final until commit."""
    install(pg)
    names = []
    stored = dict(pg.execute("SELECT tbl, upto FROM backup_marks").fetchall())
    for t in tables(pg):
        if t.kind == "whole":
            continue
        names.append(t.name)
        pg.execute(f"LOCK TABLE {_q(t.name)} IN SHARE ROW EXCLUSIVE MODE")
        top = 0
        if t.kind == "id":
            top = pg.execute(f"SELECT coalesce(max({_q(t.key[0])}), 0) FROM {_q(t.name)}").fetchone()[0]
        if t.name not in stored or top > stored[t.name]:
            pg.execute("INSERT INTO backup_marks VALUES (%s, %s) ON CONFLICT (tbl)"
                       " DO UPDATE SET upto = excluded.upto", (t.name, top))
            if t.kind == "id":
                for ddl in _row_triggers(t, top):
                    pg.execute(ddl)
    pg.execute("DELETE FROM backup_marks WHERE tbl <> ALL(%s)", (names,))
    lo, hi = pg.execute("SELECT min(seq), max(seq) FROM backup_changes").fetchone()
    if lo is not None and hi - lo >= LOG_LIMIT:
        floor = hi - LOG_LIMIT // 2
        pg.execute("DELETE FROM backup_changes WHERE seq <= %s", (floor,))
        pg.execute("UPDATE store_meta SET value = %s WHERE key = 'backup_log_floor'", (str(floor),))


def position(pg: Any) -> dict[str, Any]:
    """Where the log and the marks stand, as the current (REPEATABLE READ) snapshot sees
    them; the manifest's `changes`, as SQLite's `position` with PostgreSQL's snapshot."""
    meta = dict(pg.execute("SELECT key, value FROM store_meta").fetchall())
    stored = dict(pg.execute("SELECT tbl, upto FROM backup_marks").fetchall())
    marks, tail, kinds = {}, {}, {}
    tail_total = tail_n = 0
    shape = hashlib.sha256()
    for t in tables(pg):
        kinds[t.name] = t.kind
        shape.update(json.dumps([t.name, t.types, t.kind, t.key], sort_keys=True).encode())
        upto = marks[t.name] = stored.get(t.name, 0) if t.kind == "id" else 0
        if t.kind == "key":
            tail[t.name] = 0
            continue
        where = f" WHERE {_q(t.key[0])} > %s" if t.kind == "id" else ""
        args = (upto,) if t.kind == "id" else ()
        tail[t.name] = pg.execute(f"SELECT count(*) FROM {_q(t.name)}{where}", args).fetchone()[0]
        if t.name == "messages":
            tail_total, tail_n = digest.query_sum(
                pg.cursor(), f"SELECT uid, content_hash FROM messages{where}", args)
    return {"store_id": meta.get("store_id"), "epoch": meta.get("backup_epoch"),
            "floor": int(meta.get("backup_log_floor", 0)),
            "seq": pg.execute("SELECT coalesce(max(seq), 0) FROM backup_changes").fetchone()[0],
            "snapshot": pg.execute("SELECT pg_current_snapshot()::text").fetchone()[0],
            # no schema cookie on PostgreSQL: a hash of the tables' columns and keys instead
            "schema_cookie": shape.hexdigest()[:16], "kinds": kinds,
            "marks": marks, "tail": tail, "tail_digest": digest.as_dict(tail_total, tail_n)}


def schema_version(pg: Any) -> int:
    return int(pg.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])


def write_delta(pg: Any, out: Path, parent: dict[str, Any]) -> dict[str, Any]:
    """Write what changed since `parent` (a manifest) into `out` (a new SQLite file); return
    the summary of the store it describes. `pg` is a connection in a fresh REPEATABLE READ
    transaction (the caller has committed `mark` just before)."""
    now = position(pg)
    version = schema_version(pg)
    problem = lite_changes._unusable(now, version, parent)
    if problem is None and "snapshot" not in parent["changes"]:
        problem = "the latest backup is not of this PostgreSQL store"
    if problem:
        raise DeltaUnavailable(problem)
    since = parent["changes"]
    lite = sqlite3.connect(out, isolation_level=None)
    try:
        lite.execute("PRAGMA page_size = 65536")
        lite.execute("PRAGMA journal_mode = OFF")
        lite.execute("PRAGMA synchronous = OFF")
        lite.execute("BEGIN")
        summary = _copy_changes(pg, lite, parent, since)
        lite.execute("COMMIT")
    finally:
        lite.close()
    return {"schema_version": version, **summary, "changes": now}


def _first_changes(pg: Any, since: dict[str, Any]) -> dict[str, dict[Any, tuple[str, Any, Any]]]:
    """Per table, each row's first change unseen by the parent: (op, old uid, old hash), by
    id (at or below the parent's mark) or by key (JSON text)."""
    first: dict[str, dict[Any, tuple[str, Any, Any]]] = {}
    kinds, marks = since.get("kinds", {}), since["marks"]
    for t, row, pk, op, old_uid, old_hash in pg.execute(
            "SELECT tbl, row, pk, op, old_uid, old_hash FROM backup_changes"
            " WHERE xid >= pg_snapshot_xmin(%s::pg_snapshot)"
            " AND NOT pg_visible_in_snapshot(xid, %s::pg_snapshot) ORDER BY seq",
            (since["snapshot"], since["snapshot"])):
        if kinds.get(t) == "key" and pk is not None:
            first.setdefault(t, {}).setdefault(pk, (op, old_uid, old_hash))
        elif kinds.get(t) == "id" and row <= marks.get(t, 0):
            first.setdefault(t, {}).setdefault(row, (op, old_uid, old_hash))
    return first


def _copy_changes(pg: Any, lite: sqlite3.Connection, parent: dict[str, Any],
                  since: dict[str, Any]) -> dict[str, Any]:
    first = _first_changes(pg, since)
    lite.execute("CREATE TABLE __tables (tbl TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                 " key TEXT NOT NULL, upto INTEGER NOT NULL)")
    lite.execute("CREATE TABLE __touched (tbl TEXT NOT NULL, row INTEGER, pk TEXT)")
    counts = dict(parent["counts"])  # untracked (schema_migrations): as the parent's
    rows = 0
    total = digest.value(parent["digest"]) - digest.value(since["tail_digest"])
    n_messages = parent["digest"]["messages"] - since["tail_digest"]["messages"]
    for t in tables(pg):
        touched = first.get(t.name, {})
        upto = since["marks"].get(t.name, 0)
        lite.execute("INSERT INTO __tables VALUES (?, ?, ?, ?)", (t.name, t.kind, json.dumps(t.key), upto))
        lite.executemany("INSERT INTO __touched VALUES (?, ?, ?)",
                         [(t.name, k, None) if t.kind == "id" else (t.name, None, k) for k in touched])
        cols = (["__rowid"] if t.rowid else []) + t.cols
        lite.execute(f"CREATE TABLE {_q(t.name)} ({', '.join(map(_q, cols))})")
        insert = f"INSERT INTO {_q(t.name)} VALUES ({', '.join('?' * len(cols))})"
        new = digest.Sum()
        stored = 0
        for sql, args in _reads(t, upto, list(touched)):
            with pg.cursor(name=f"delta_{t.name}") as cur:
                cur.execute(sql, args)
                while batch := cur.fetchmany(CHUNK):
                    lite.executemany(insert, batch)
                    stored += len(batch)
                    if t.name == "messages":
                        u, h = cols.index("uid"), cols.index("content_hash")
                        for r in batch:
                            new.add(r[u], r[h])
        had = [(u, h) for op, u, h in touched.values() if op != "i"]  # rows the parent had
        counts[t.name] = parent["counts"].get(t.name, 0) - since["tail"].get(t.name, 0) - len(had) + stored
        rows += stored
        if t.name == "messages":
            gone, n_gone = digest.row_sum(had)
            total += new.total - gone
            n_messages += new.n - n_gone
    return {"counts": counts, "digest": digest.as_dict(total, n_messages), "rows": rows,
            "touched": {t: len(r) for t, r in first.items() if r}}


def _reads(t: Table, upto: int, touched: list[Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """The queries giving a table's rows for a delta: all (whole), those above the mark and
    those touched (id), those touched (key)."""
    sel = f"SELECT {', '.join(map(_q, t.selected))} FROM {_q(t.name)}"
    if t.kind == "whole":
        return [(sel, ())]
    if t.kind == "id":
        k = _q(t.key[0])
        out = [(f"{sel} WHERE {k} > %s ORDER BY {k}", (upto,))]
        return out + ([(f"{sel} WHERE {k} = ANY(%s)", (touched,))] if touched else [])
    if not touched:
        return []
    keys = [json.loads(k) for k in touched]
    arrays = tuple([k[i] for k in keys] for i in range(len(t.key)))
    unnest = ", ".join(f"%s::{t.types[c]}[]" for c in t.key)
    on = " AND ".join(f"x.{_q(c)} = k.c{i}" for i, c in enumerate(t.key))
    sel = f"SELECT {', '.join('x.' + _q(c) for c in t.selected)} FROM {_q(t.name)} x"
    return [(f"{sel} JOIN unnest({unnest}) AS k({', '.join(f'c{i}' for i in range(len(t.key)))})"
             f" ON {on}", arrays)]


# --- restore: applying a delta to the image (a SQLite store), with no server --------------
def apply_delta(db: sqlite3.Connection, path: Path) -> int:
    """Apply a delta written by `write_delta` to the store of its parent (one transaction);
    returns the rows written."""
    with lite_changes.delta_transaction(db, path):
        listed = db.execute("SELECT tbl, kind, key, upto FROM d.__tables").fetchall()
        have = set(lite_changes.tables(db))
        rows = 0
        for t, kind, key_json, upto in listed:
            if t not in have:
                raise sqlite3.DatabaseError(f"the delta holds table {t!r}, which its parent lacks")
            key = json.loads(key_json)
            cols = [r[1] for r in db.execute(f"PRAGMA d.table_info({_q(t)})")]
            if kind == "whole":
                db.execute(f"DELETE FROM main.{_q(t)}")
            elif kind == "id":
                k = _q(key[0]) if key != ["rowid"] else "rowid"
                db.execute(f"DELETE FROM main.{_q(t)} WHERE {k} > ?", (upto,))
                db.execute(f"DELETE FROM main.{_q(t)} WHERE {k} IN"
                           " (SELECT row FROM d.__touched WHERE tbl = ?)", (t,))
            else:
                where = " AND ".join(f"{_q(c)} IS ?" for c in key)
                db.executemany(f"DELETE FROM main.{_q(t)} WHERE {where}",
                               [json.loads(pk) for (pk,) in db.execute(
                                   "SELECT pk FROM d.__touched WHERE tbl = ?", (t,))])
            target = ", ".join("rowid" if c == "__rowid" else _q(c) for c in cols)
            rows += db.execute(f"INSERT INTO main.{_q(t)} ({target})"
                               f" SELECT {', '.join(map(_q, cols))} FROM d.{_q(t)}").rowcount
    return rows


def rebuild(db_path: str, deltas: list[Path]) -> None:
    """The full backup's image at `db_path` made into the store of the chain's last backup
    (a new change history first, as SQLite's `rebuild`)."""
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        lite_changes.reset(db)
        db.execute("COMMIT")
        for path in deltas:
            apply_delta(db, path)
        if deltas:  # their rows hold uids and session ids as text, as PostgreSQL does
            sql_functions(db)
            db.execute("BEGIN IMMEDIATE")
            backfill.keys_as_bytes(db)
            db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
