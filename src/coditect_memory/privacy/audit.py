"""The audit log: append-only and hash-chained, who / what / when / why, never content.

Each entry's hash is SHA-256 over its fields and the previous entry's hash, so editing,
removing or reordering any entry breaks every hash after it. Plain SHA-256, not an HMAC:
anyone holding a copy of the store (an auditor, a restored backup) can verify the chain
without a secret; a key kept beside the log would not stop someone able to rewrite the
whole log anyway. To pin the chain against that, copy the last hash elsewhere
(`memory audit list --json` prints it) and compare later.

`record(...)` is the one function every door calls: the CLI's actions now (forget, privacy
changes, export, backup, restore), the API later (session reads, searches, token mint and
revoke, with the token's name as the actor).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import MemoryError_
from ..store.protocol.privacy import AuditRow

GENESIS = "0" * 64


class AuditTampered(MemoryError_):
    """The audit log's chain is broken: an entry was edited, removed or reordered."""

    exit_code = 21


def local_actor() -> str:
    """The local user (from the password database, not the environment)."""
    try:
        import pwd

        return f"local:{pwd.getpwuid(os.getuid()).pw_name}"
    except (ImportError, KeyError):
        return "local"


def entry_hash(seq: int, at: int, actor: str, action: str, target: str | None,
               reason: str | None, detail: str | None, prev: str) -> str:
    data = orjson.dumps([seq, at, actor, action, target, reason, detail, prev])
    return hashlib.sha256(data).hexdigest()


def record(store: Any, action: str, target: str | None = None, reason: str | None = None,
           detail: dict[str, Any] | None = None, actor: str | None = None) -> AuditRow:
    """Append one entry (its own transaction). `detail`: counts and ids, never content."""
    who = actor or local_actor()
    at = int(time.time() * 1000)
    det = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode() if detail else None

    def make(prev_seq: int, prev_hash: str | None) -> AuditRow:
        seq, prev = prev_seq + 1, prev_hash or GENESIS
        return AuditRow(seq, at, who, action, target, reason, det, prev,
                        entry_hash(seq, at, who, action, target, reason, det, prev))

    return store.audit_append(make)


@dataclass(frozen=True)
class Verified:
    entries: int
    last_hash: str
    first_bad: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "last_hash": self.last_hash,
                "first_bad": self.first_bad, "problem": self.problem}


def verify(store: Any, page: int = 50_000) -> Verified:
    """Walk the chain from its anchor (genesis, or the last entry retention dropped)."""
    anchor = store.audit_anchor()
    prev_seq, prev = anchor if anchor else (0, GENESIS)
    n = 0
    while True:
        rows = store.audit_rows(after_seq=prev_seq, limit=page)
        if not rows:
            return Verified(n, prev)
        for r in rows:
            if r.seq != prev_seq + 1:
                return Verified(n, prev, r.seq, f"entry {r.seq} follows entry {prev_seq}: "
                                f"{'removed' if r.seq > prev_seq + 1 else 'reordered'} entries")
            if r.prev_hash != prev:
                return Verified(n, prev, r.seq, f"entry {r.seq} does not chain to entry {prev_seq}")
            if entry_hash(r.seq, r.at, r.actor, r.action, r.target, r.reason, r.detail,
                          r.prev_hash) != r.hash:
                return Verified(n, prev, r.seq, f"entry {r.seq} was changed after it was written")
            prev_seq, prev = r.seq, r.hash
            n += 1


def prune(store: Any, retention_days: int) -> int:
    """Drop entries older than the retention (the chain then starts at their anchor)."""
    return int(store.audit_drop_before(int(time.time() * 1000) - retention_days * 86_400_000))
