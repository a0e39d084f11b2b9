"""Forgotten stays forgotten across backups: the tombstones (uids) travel with the backup
repository and are applied at restore, so restoring any backup, made before or after a
forget, never brings the forgotten rows back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

REPO_KEY = "privacy/tombstones.json"


def _read(repo: Any) -> set[str]:
    raw = repo.target.read(REPO_KEY)
    if not raw:
        return set()
    try:
        return set(orjson.loads(raw))
    except (orjson.JSONDecodeError, TypeError):
        return set()  # damaged: the store's own tombstones still apply at restore


def save(store: Any, repo: Any) -> int:
    """Merge the store's tombstones into the repository's (after each backup)."""
    have = _read(repo)
    mine = store.tombstoned()
    if mine <= have:
        return len(have)
    union = sorted(have | mine)
    repo.target.write(REPO_KEY, orjson.dumps(union))
    return len(union)


def apply_at_restore(settings: Any, repo: Any, into: Path, previous: str | None) -> int:
    """Remove from the restored store every row a forget tombstoned: those the repository
    carries, and those of the store the restore replaces or of the configured one (a
    PostgreSQL store: read from its server; an unreachable one is an error, not a skip)."""
    from ..store import open_store
    from ..store.sqlite.backend import SQLiteStore

    uids = _read(repo)
    if settings.database_url:
        with open_store(settings, readonly=True) as current:
            uids |= current.tombstoned()
    for path in {previous, str(settings.db_path)}:
        if path and Path(path).exists() and Path(path) != into / "memory.db":
            try:
                with SQLiteStore(path, readonly=True) as old:
                    uids |= old.tombstoned()
            except Exception:  # noqa: BLE001 - an older store without the table: none there
                continue
    if not uids:
        return 0
    with SQLiteStore(str(into / "memory.db"), create=False) as restored:
        return restored.add_tombstones(sorted(uids), int(time.time() * 1000))
