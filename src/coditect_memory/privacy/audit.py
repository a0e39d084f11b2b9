"""The audit log: append-only and hash-chained, who / what / when / why, never content.

Each entry's hash is SHA-256 over its fields and the previous entry's hash, so editing,
removing or reordering any entry breaks every hash after it. Plain SHA-256, not an HMAC:
anyone holding a copy of the store (an auditor, a restored backup) can verify the chain
without a secret; a key kept beside the log would not stop someone able to rewrite the
whole log anyway. To pin the chain against that, copy the last hash elsewhere
(`memory audit list --json` prints it) and compare later.

`record(...)` is the one function every door calls: the CLI's actions now (forget, privacy
changes, export, restore), the API later (session reads, searches, token mint and revoke,
with the token's name as the actor).

Backups and their checks must not write to the store they copy (an unchanged store gives an
empty incremental and reuses every object), so `defer(...)` appends their entries to
$MEMORY_HOME/audit-pending.jsonl; the next `record(..., home=...)` on this machine moves them
into the chain, in order, with their own times. `memory audit list` shows them meanwhile
(`pending: true`); they are chained, and so tamper-evident, from then on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..errors import MemoryError_
from ..pids import alive
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


PENDING = "audit-pending.jsonl"


def defer(home: Path, action: str, target: str | None = None,
          detail: dict[str, Any] | None = None, actor: str | None = None,
          durable: bool = True) -> None:
    """An entry for the chain, kept beside the store until the next `record` (see above);
    `durable`: synced to disk before returning."""
    line = orjson.dumps({"at": int(time.time() * 1000), "actor": actor or local_actor(),
                         "action": action, "target": target, "detail": detail},
                        option=orjson.OPT_SORT_KEYS)
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / PENDING, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line + b"\n")
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def api_read(home: Path, token: str, submodule: str | None, action: str, target: str | None,
             query: str | None = None) -> None:
    """A token's read through the REST API (a session, a search): who and what, never the
    content (a query is kept as its sha256). Deferred, not fsynced: a read must not wait for
    the store's write lock or a disk flush (one append; it joins the chain with the next
    entry written)."""
    detail = {"query_sha256": hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()
              } if query is not None else None
    defer(home, action, target, detail, f"token:{token}" + (f"/{submodule}" if submodule else ""),
          durable=False)


def _read(path: Path) -> list[dict[str, Any]]:
    out = []
    with contextlib.suppress(FileNotFoundError):
        for raw in path.read_bytes().splitlines():
            with contextlib.suppress(ValueError):  # a torn last line is left out
                out.append(orjson.loads(raw))
    return out


def _claims(home: Path) -> list[Path]:
    """Pending files being chained: ours, renamed from PENDING so that an entry appended
    meanwhile lands in a new PENDING instead of being deleted unread, and those left by a
    process that died mid-way (chained again: an entry twice is better than one lost)."""
    mine = home / f"{PENDING}.{os.getpid()}.taking"
    with contextlib.suppress(FileNotFoundError):
        os.replace(home / PENDING, mine)
    out = []
    for p in sorted(home.glob(f"{PENDING}.*.taking")):
        pid = p.name.removeprefix(f"{PENDING}.").removesuffix(".taking")
        if p == mine or (pid.isdigit() and not alive(int(pid))):
            out.append(p)
    return out


def pending(home: Path) -> list[dict[str, Any]]:
    """The deferred entries not chained yet."""
    return [e for p in [*home.glob(f"{PENDING}.*.taking"), home / PENDING] for e in _read(p)]


def record(store: Any, action: str, target: str | None = None, reason: str | None = None,
           detail: dict[str, Any] | None = None, actor: str | None = None,
           home: Path | None = None, at: int | None = None) -> AuditRow:
    """Append one entry (its own transaction), after the deferred ones of `home`. `detail`:
    counts and ids, never content."""
    if home is not None and not getattr(store, "readonly", False) and (
            (home / PENDING).exists() or any(home.glob(f"{PENDING}.*.taking"))):
        for claim in _claims(home):
            for e in _read(claim):
                record(store, e["action"], e.get("target"), None, e.get("detail"), e["actor"],
                       at=e["at"])
            claim.unlink(missing_ok=True)
    who = actor or local_actor()
    at = int(time.time() * 1000) if at is None else at
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
