"""The SQL the SQLite backend's queries speak, run on PostgreSQL: one set of queries for both.

The read, search, report, rollup and derivation SQL of store/sqlite/ is plain SQL but for a
few SQLite spellings; `translate` rewrites those (cached: each statement once per process),
and compat.sql gives PostgreSQL the two SQLite functions it lacks (`sum` over a condition,
`json_extract`). `Conn` wraps a psycopg connection with the sqlite3 calls those modules make
(`execute`, `executemany`, `cursor`, rows by index or by name), so no query is written twice.
Writes that matter for speed (ingest's COPY) are PostgreSQL's own, in backend.py.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from decimal import Decimal
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

_RULES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in (
    (r"\bIS NOT (?!NULL\b|DISTINCT\b)", "IS DISTINCT FROM "),       # NULL-safe comparisons
    (r"\bIS (?!NOT\b|NULL\b|DISTINCT\b)", "IS NOT DISTINCT FROM "),
    (r"\s(?:INDEXED BY \w+|NOT INDEXED)\b", ""),                      # planner hints
    (r"\btemp\.", "pg_temp."),                                         # temp tables' schema
    (r"\bWHERE 0\b", "WHERE false"),
    (r"\bWHERE 1\b(?!\d)", "WHERE true"),
    (r"\(1\)", "(true)"),                                              # an always-true scope
    (r"\b(GROUP|ORDER) BY NULL, ", r"\1 BY "),                        # a constant key
    (r"\bcoalesce\(([\w.]+), ''\)", r"coalesce(\1::text, '')"),        # a number, or ''
    (r"\bblob_unpack\(([\w.]+), [\w.]+\)", r"\1"),                    # blobs are never packed
    (r"CAST\(([\w.]+) AS TEXT\)", r"convert_from(\1, 'UTF8')"),        # blob bytes as text
    (r"WHEN ([\w.]+\.is_\w+) THEN", r"WHEN \1 <> 0 THEN"),             # 0/1 flags as truth
    (r"\bcontent_unpack\([\w.]+\)", "NULL::text"),                     # content is never packed
    (r"\bcontent_sha\([\w.]+, [\w.]+\)", "NULL::text"),               # content_hash always stored
    (r"CASE WHEN typeof\(([\w.]+)\) = 'blob' THEN lower\(.*?\) ELSE \1 END", r"\1"),  # uuids stay text
    (r"\buuid_bytes\(([\w.?]+)\)", r"\1"),                              # session ids too (0027)
    (r"\buuid_str\(([\w.]+)\)", r"\1"),                                  # session ids stay text (0027)
    (r"\buid_bytes\(([\w.?]+)\)", r"\1"),                               # uids stay text
)]
_OR_IGNORE = re.compile(r"^\s*INSERT OR IGNORE INTO", re.I)
# An INSERT of one row of parameters, which many rows may share (executemany): no DO UPDATE
# (a key twice in one statement is an error there), no RETURNING, no expressions.
_ONE_ROW = re.compile(r"^\s*INSERT INTO ([\w.]+)\s*(?:\(([\w\s,]+)\))?\s*VALUES\s*"
                      r"\((\s*%s\s*(?:,\s*%s\s*)*)\)"
                      r"(\s*(?:ON CONFLICT\s*(?:\([\w\s,]*\))?\s*DO NOTHING)?\s*)$", re.I | re.S)
MANY_ROWS = 64  # from this many rows an INSERT's executemany goes by COPY
_SUM = re.compile(r"\bsum\(", re.I)
# What makes an expression a truth value (at the top level of sum's argument).
_TRUTH = re.compile(r"[=<>]|\b(?:IS|AND|OR|NOT|IN|LIKE|BETWEEN|EXISTS)\b", re.I)


@lru_cache(maxsize=2048)
def translate(sql: str, params: bool) -> str:
    """SQLite's SQL as PostgreSQL's; `params`: `?` become psycopg's `%s` (and `%` is escaped)."""
    for pattern, repl in _RULES:
        sql = pattern.sub(repl, sql)
    sql = _bool_sums(sql)
    if _OR_IGNORE.match(sql):
        sql = _OR_IGNORE.sub("INSERT INTO", sql) + " ON CONFLICT DO NOTHING"
    if params:
        sql = sql.replace("%", "%%").replace("?", "%s")
    return sql


def _bool_sums(sql: str) -> str:
    """`sum(condition)` (SQLite counts true as 1) as `sum((condition)::int)`: PostgreSQL's
    own sum, where compat.sql's sum(boolean) calls a SQL function per row (a tenth of a
    rollup build, a third of extraction-progress). Same result, NULLs and empty sets alike."""
    out, at = [], 0
    for m in _SUM.finditer(sql):
        if m.start() < at:
            continue
        end, top = _scan(sql, m.end())
        if end < 0:
            break
        arg = sql[m.end():end]
        if _is_truth(arg, top):
            out.append(sql[at:m.end()] + f"({arg.strip()})::int")
            at = end
    return "".join(out) + sql[at:] if out else sql


def _scan(sql: str, start: int) -> tuple[int, str]:
    """From just inside an opened parenthesis: where it closes (-1: never), and its text
    outside nested parentheses and quotes."""
    depth, quoted = 1, False
    top: list[str] = []
    for i in range(start, len(sql)):
        c = sql[i]
        if c == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i, "".join(top)
        elif depth == 1:
            top.append(c)
    return -1, ""


def _is_truth(arg: str, top: str) -> bool:
    """Whether a sum's argument is a condition: an operator of truth at its top level (`top`;
    inside, when parentheses wrap the whole), and not a CASE."""
    arg = arg.strip()
    if not top.strip() and arg.startswith("("):
        end, inner = _scan(arg, 1)
        return end == len(arg) - 1 and _is_truth(arg[1:end], inner)
    return arg[:4].upper() != "CASE" and bool(_TRUTH.search(top))


class Row(tuple):
    """A row by index or by column name, like sqlite3.Row (`dict(row)` works)."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> Iterable[str]:
        return self._index.keys()


def _named_row(cursor: Any) -> Any:
    index = {c.name: i for i, c in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._index = index
        return row
    return make


class IntNumeric(Loader):
    """sum() of integers is `numeric` on PostgreSQL: give Python ints (as SQLite does), so
    every --json shape is the same on both backends."""

    def load(self, data: Any) -> Any:
        data = bytes(data)
        if b"." not in data:
            with suppress(ValueError):
                return int(data)  # a sum of integers: no Decimal on the way
        value = Decimal(data.decode())
        return int(value) if value == value.to_integral_value() else float(value)


class Cursor:
    """A psycopg cursor with sqlite3's habits: `row_factory = None` gives plain tuples."""

    def __init__(self, raw: psycopg.Cursor[Any]) -> None:
        self.raw = raw
        self.row_factory: object = True

    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> Cursor:
        self.raw.row_factory = _named_row if self.row_factory is not None else tuple_row
        if sql.lstrip().upper().startswith("PRAGMA"):
            return self  # SQLite tuning (e.g. shrink_memory): nothing to do here
        args = tuple(params) if params else None
        self.raw.execute(translate(sql, args is not None), args)
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        """Each row once; many rows of an INSERT by COPY (`_insert_by_copy`)."""
        rows = list(rows)
        if not rows:
            return self
        sql = translate(sql, True)
        one = _ONE_ROW.match(sql) if len(rows) >= MANY_ROWS else None
        if one is None:
            self.raw.executemany(sql, rows)
        else:
            _insert_by_copy(self.raw, one, rows)
        return self

    def fetchone(self) -> Any:
        return self.raw.fetchone() if self.raw.description else None

    def fetchall(self) -> list[Any]:
        return self.raw.fetchall() if self.raw.description else []

    def fetchmany(self, size: int) -> list[Any]:
        return self.raw.fetchmany(size) if self.raw.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def description(self) -> Any:
        return self.raw.description

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount


def _insert_by_copy(cur: Any, one: re.Match[str], rows: list[Sequence[Any]]) -> None:
    """An INSERT's rows COPYed into a temporary table shaped like the target's columns, then
    one INSERT ... SELECT in their order (with the statement's ON CONFLICT): four round trips
    and no statement per row (60k file_backups rows: 1.06 s by executemany, 0.18 s so)."""
    table, cols, params, conflict = one.groups()
    width = params.count("%s")
    if cols:
        names = [c.strip() for c in cols.split(",")]
    else:  # VALUES fill the table's first columns
        names = [r[0] for r in cur.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum LIMIT %s", (table, width))]
    listed = ", ".join(f'"{n}"' for n in names)
    stage = "pg_temp.many_" + re.sub(r"\W", "_", table)
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage.split('.')[1]} AS"
                f" SELECT 0::bigint AS many_n, {listed} FROM {table} WITH NO DATA")
    cur.execute(f"DELETE FROM {stage}")
    with cur.copy(f"COPY {stage} (many_n, {listed}) FROM STDIN") as copy:
        for n, row in enumerate(rows):
            copy.write_row((n, *row))
    cur.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {stage} ORDER BY many_n"
                + conflict)


# Set on each of the store's connections (tune): JIT off, and work_mem at least WORK_MEM.
# JIT compiles a statement whose estimated cost passes jit_above_cost: at 150k messages a
# first ingest's largest statements (the rollups' first build, the tool names of results, the
# parent links) spent 2.3-4.1 s compiling (pg_stat_statements' jit_* columns) to run for less
# than that; at 1M seven of derivation's and the rollups' scans pass the threshold. And the
# default 4 MB of work_mem sent the rollups' sorts to disk: with 64 MB they aggregate in
# memory (EXPLAIN ANALYZE at 150k, JIT off: 1.6 s -> 0.65 s). A server set higher keeps its
# own. Together: the server's CPU per first ingest at 150k, 20.7 s -> 18.6 s (5 runs each).
WORK_MEM = "64MB"


def tune(raw: psycopg.Connection[Any]) -> None:
    """A new connection's settings for this store's statements (see WORK_MEM's comment), in
    one round trip: every command pays it once per connection."""
    raw.execute("SELECT set_config('jit', 'off', false), set_config('work_mem', CASE WHEN"
                " pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%s) THEN %s"
                " ELSE current_setting('work_mem') END, false)", (WORK_MEM, WORK_MEM))


class Conn:
    """This thread's connection, spoken to as the SQLite modules do (autocommit; the store's
    tx() opens the transactions)."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._names = itertools.count()

    def cursor(self) -> Cursor:
        return Cursor(self.raw.cursor())

    def server_cursor(self) -> Cursor:
        """A cursor whose rows stay on the server until fetched (WITH HOLD: it outlives the
        autocommit statement), for reads of every row: memory stays flat at any size."""
        return Cursor(self.raw.cursor(name=f"bulk_{next(self._names)}", withhold=True))

    def execute(self, sql: str, params: Sequence[Any] | None = ()) -> Cursor:
        return Cursor(self.raw.cursor()).execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        return Cursor(self.raw.cursor()).executemany(sql, rows)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()
