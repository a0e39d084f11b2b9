"""`memory db`: the store's schema (versions applied and pending, upgrade) and whole-store
copies between backends (a SQLite file and a PostgreSQL database, either way)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..settings import Settings
from ..store import Store, open_store


@dataclass(frozen=True)
class DbStatus:
    kind: str
    path: str
    server_version: str | None
    applied: list[int]
    pending: list[int]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "server_version": self.server_version,
                "schema_version": max(self.applied, default=0), "applied": self.applied,
                "pending": self.pending}


def db_status(store: Store) -> DbStatus:
    v = store.schema_versions()
    return DbStatus(store.kind, str(getattr(store, "shown_path", "")), store.server_version(),
                    v["applied"], v["pending"])


def db_upgrade(settings: Settings) -> tuple[DbStatus, list[int]]:
    """Apply the pending migrations (opening the store writable does); returns the status
    after and the versions applied now."""
    with open_store(settings, readonly=True, check=False) as store:
        before = store.schema_versions()["pending"]
    with open_store(settings, create=False) as store:
        return db_status(store), before


@dataclass(frozen=True)
class CopyRequest:
    source: str  # postgresql:// URL or a SQLite store file
    dest: str


@dataclass(frozen=True)
class Copied:
    source: str
    dest: str
    counts: dict[str, int]
    digest: dict[str, Any]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "dest": self.dest, "messages": self.digest["messages"],
                "counts": self.counts, "digest": self.digest, "verified": True,
                "seconds": round(self.seconds, 3)}


def db_copy(settings: Settings, request: CopyRequest, progress: Any = None) -> Copied:
    """Copy a whole store; verified by both sides' table counts and message digest."""
    from ..store.postgres.backend import shown_url
    from ..store.postgres.copy import copy_store

    started = time.monotonic()
    workdir = Path(settings.home) / "tmp"
    src, dst = copy_store(request.source, request.dest, workdir, progress)
    if src["counts"] != dst["counts"] or src["digest"] != dst["digest"]:
        diff = {t: (src["counts"].get(t), dst["counts"].get(t))
                for t in set(src["counts"]) | set(dst["counts"])
                if src["counts"].get(t) != dst["counts"].get(t)}
        raise StoreError(f"the copy at {shown_url(request.dest)} does not match its source"
                         f" (rows per table: {diff or 'equal'}; digest "
                         f"{'equal' if src['digest'] == dst['digest'] else 'differs'}):"
                         " run the copy again")
    return Copied(shown_url(request.source), shown_url(request.dest), dst["counts"],
                  dst["digest"], time.monotonic() - started)
