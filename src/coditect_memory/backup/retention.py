"""`backup prune`: keep the newest backup of each of the last N days, weeks and months
(restic's rules), keep every ancestor a kept incremental needs, delete the rest, then delete
objects no remaining manifest uses.

Objects are only collected when no backup is being made (no live lock: its process runs, or,
made on another host, it is younger than 6 hours) and every manifest could be read: an
object is deleted only when it is certainly unused. A killed backup's lock and temp files
are removed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import BackupError
from .repository import Repository, manifest_key, object_key
from .targets import LocalTarget


def _buckets(m: dict[str, Any]) -> dict[str, str]:
    t = time.gmtime(m.get("created_ms", 0) / 1000)
    year, week, _ = time.strftime("%G %V %u", t).split()
    return {"daily": time.strftime("%Y-%m-%d", t), "weekly": f"{year}-W{week}",
            "monthly": time.strftime("%Y-%m", t)}


def plan(manifests: list[dict[str, Any]], keep: dict[str, int]) -> tuple[list[str], list[str]]:
    """(kept, removed) backup ids, newest first."""
    if not any(keep.values()):
        raise BackupError("prune needs a rule: --keep-daily, --keep-weekly or --keep-monthly")
    newest_first = sorted(manifests, key=lambda m: (m.get("created_ms", 0), m["backup_id"]),
                          reverse=True)
    kept: set[str] = set()
    for rule, n in keep.items():
        seen: list[str] = []
        for m in newest_first:
            bucket = _buckets(m)[rule]
            if bucket in seen:
                continue
            if len(seen) >= n:
                break
            seen.append(bucket)
            kept.add(m["backup_id"])
    by_id = {m["backup_id"]: m for m in manifests}
    for bid in list(kept):
        while by_id.get(bid, {}).get("parent"):
            bid = by_id[bid]["parent"]
            kept.add(bid)
    order = [m["backup_id"] for m in newest_first]
    return [b for b in order if b in kept], [b for b in order if b not in kept]


@dataclass
class Pruned:
    """What `backup prune` kept and removed (docs/json-and-exit-codes.md), newest first."""

    kept: list[str]
    removed: list[str]
    objects_deleted: int = 0
    bytes_freed: int = 0
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)  # why unused objects were left in place

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def prune(repo: Repository, keep: dict[str, int], dry_run: bool = False) -> Pruned:
    """Apply the rules (`keep`: daily, weekly, monthly counts) to the repository."""
    all_ids = repo.backup_ids()
    manifests = repo.manifests()
    kept, removed = plan(manifests, keep)
    result = Pruned(kept, removed, dry_run=dry_run)
    if dry_run:
        return result
    for bid in removed:
        repo.target.delete(manifest_key(bid))
    if len(manifests) != len(all_ids):
        result.notes.append("some manifests cannot be read (`memory backup verify`); "
                            "unused objects were left in place")
        return result
    live, stale = repo.locks()
    if live:
        result.notes.append(f"a backup is being made ({', '.join(live)}); unused objects "
                            "were left in place: run prune again later")
        return result
    for name in stale:
        repo.unlock(name)
        result.notes.append(f"removed the lock of backup {name}: its process is gone")
    used = set()
    sizes = {}
    for m in manifests:
        if m["backup_id"] in kept:
            used |= set(m["objects"])
        for oid, meta in m["objects"].items():
            sizes[oid] = meta["size"]
    for oid in repo.object_ids() - used:
        repo.target.delete(object_key(oid))
        result.objects_deleted += 1
        result.bytes_freed += sizes.get(oid, 0)
    if isinstance(repo.target, LocalTarget):
        import os

        for path in repo.target.temp_files():
            os.unlink(path)
    return result
