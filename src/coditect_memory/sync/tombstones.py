"""Forget on one machine is forget everywhere: tombstones received (by the server from a
push, by a machine from a pull) remove their rows from the store and the search index, and
stay recorded so the rows are never stored again."""

from __future__ import annotations

import time

from ..privacy import audit
from ..settings import Settings
from ..store.base import Store


def apply(store: Store, settings: Settings, uids: list[str], actor: str | None, source: str) -> int:
    """Remove the rows of `uids` (the store's `add_tombstones`, as a restore does), their
    index documents, and audit it; returns how many rows went."""
    from ..search import indexer

    have = store.tombstoned()
    fresh = [u for u in dict.fromkeys(uids) if u not in have]
    if not fresh:
        return 0
    ids = store.message_ids(fresh)
    removed = store.add_tombstones(fresh, int(time.time() * 1000))
    indexer.forget(store, settings.search.index_dir, ids)
    audit.record(store, "forget", target=f"{len(fresh)} tombstones", reason=f"sync from {source}",
                 detail={"tombstones": len(fresh), "messages": removed}, actor=actor,
                 home=settings.home)
    return removed
