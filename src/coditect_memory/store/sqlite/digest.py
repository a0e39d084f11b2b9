"""The message digest a backup manifest records: order-independent and additive.

Each message contributes sha256(uid + 0x1f + content_hash) read as a 256-bit number; the
digest is their sum mod 2^256. It depends on what is stored, not on row order or page
layout (any backend can compute the same figure), and it can be carried forward: an
incremental's digest is its parent's, minus the rows that changed, plus their new versions.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from typing import Any

from .packing import hash_sql, sql_functions, uid_sql

ALGORITHM = "sum-sha256(uid US content_hash) mod 2^256"
MOD = 1 << 256


class Sum:
    """A running digest sum. `add` is also a SQL function (it returns 1, so it can sit in a
    WHERE clause): a statement that copies rows sums them in the same pass."""

    def __init__(self) -> None:
        self.total = 0
        self.n = 0

    def add(self, uid: str, content_hash: str | None) -> int:
        self.total += int.from_bytes(hashlib.sha256(f"{uid}\x1f{content_hash or ''}".encode(
            "utf-8", "surrogatepass")).digest(), "big")
        self.n += 1
        return 1


def row_sum(rows: Iterable[tuple[Any, Any]]) -> tuple[int, int]:
    """(sum of the rows' contributions, not yet reduced; number of rows)."""
    acc = Sum()
    for uid, content_hash in rows:
        acc.add(uid, content_hash)
    return acc.total, acc.n


def query_sum(cur: sqlite3.Cursor, sql: str, args: tuple = ()) -> tuple[int, int]:
    """row_sum over a query's (uid, content_hash) rows, fetched in batches."""
    cur.execute(sql, args)
    total = n = 0
    while rows := cur.fetchmany(20000):
        t, k = row_sum(rows)
        total += t
        n += k
    return total, n


def as_dict(total: int, n: int) -> dict[str, Any]:
    return {"algorithm": ALGORITHM, "messages": n, "value": f"{total % MOD:064x}"}


def value(d: dict[str, Any]) -> int:
    return int(d["value"], 16)


def message_digest(cur: sqlite3.Cursor) -> dict[str, Any]:
    """The digest of every message in the store (a full scan)."""
    sql_functions(cur.connection)
    return as_dict(*query_sum(cur, f"SELECT {uid_sql('uid')}, {hash_sql('')} FROM messages"))
