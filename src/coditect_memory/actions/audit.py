"""`memory audit list` and `memory audit verify`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..privacy.audit import AuditTampered, Verified
from ..privacy.audit import verify as verify_chain
from ..store import Store
from ..timeutil import iso

__all__ = ["AuditList", "AuditTampered", "Verified", "list_entries", "verify"]


@dataclass(frozen=True)
class AuditList:
    entries: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"entries": self.entries,
                "last_hash": self.entries[-1]["hash"] if self.entries else None}


def list_entries(store: Store, since_ms: int | None = None, limit: int = 10_000) -> AuditList:
    import orjson

    rows = store.audit_rows(since_ms=since_ms, limit=limit)
    return AuditList([{"seq": r.seq, "at": iso(r.at), "actor": r.actor, "action": r.action,
                       "target": r.target, "reason": r.reason,
                       "detail": orjson.loads(r.detail) if r.detail else None,
                       "prev_hash": r.prev_hash, "hash": r.hash} for r in rows])


def verify(store: Store) -> Verified:
    """The chain checked; raises AuditTampered naming the first bad entry."""
    result = verify_chain(store)
    if not result.ok:
        raise AuditTampered(f"the audit log is broken at entry {result.first_bad}: "
                            f"{result.problem}")
    return result
