"""`memory audit list` and `memory audit verify`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..privacy.audit import AuditTampered, Verified, pending
from ..privacy.audit import verify as verify_chain
from ..store import Store
from ..timeutil import iso

__all__ = ["AuditList", "AuditTampered", "Verified", "list_entries", "verify"]


@dataclass(frozen=True)
class AuditList:
    entries: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        chained = [e for e in self.entries if e["hash"]]
        return {"entries": self.entries, "last_hash": chained[-1]["hash"] if chained else None}


def list_entries(store: Store, since_ms: int | None = None, limit: int = 10_000,
                 home: Path | None = None) -> AuditList:
    """The chained entries, then (with `home`) the deferred ones not chained yet (backups:
    privacy/audit.py), `pending: true`, without seq or hash."""
    import orjson

    rows = store.audit_rows(since_ms=since_ms, limit=limit)
    out = [{"seq": r.seq, "at": iso(r.at), "actor": r.actor, "action": r.action,
            "target": r.target, "reason": r.reason,
            "detail": orjson.loads(r.detail) if r.detail else None,
            "prev_hash": r.prev_hash, "hash": r.hash} for r in rows]
    for e in pending(home) if home is not None else []:
        if since_ms is None or e["at"] >= since_ms:
            out.append({"seq": None, "at": iso(e["at"]), "actor": e["actor"], "action": e["action"],
                        "target": e.get("target"), "reason": None, "detail": e.get("detail"),
                        "prev_hash": None, "hash": None, "pending": True})
    return AuditList(out)


def verify(store: Store) -> Verified:
    """The chain checked; raises AuditTampered naming the first bad entry."""
    result = verify_chain(store)
    if not result.ok:
        raise AuditTampered(f"the audit log is broken at entry {result.first_bad}: "
                            f"{result.problem}")
    return result
