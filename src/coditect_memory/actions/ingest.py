"""`ingest`: capture a Claude folder (or an extraction export) into the store, then let
search catch up with what is new."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MemoryError_
from ..ingest.pipeline import Ingest, Progress, RunStats, check_root
from ..settings import Settings
from ..store import Store

__all__ = ["IngestResult", "Progress", "check_root", "ingest"]


@dataclass
class IngestResult:
    stats: RunStats
    search: dict[str, Any] = field(default_factory=dict)  # what the index and embeddings did
    memories: dict[str, Any] = field(default_factory=dict)  # what memory extraction did

    def to_json(self) -> dict[str, Any]:
        return self.stats.as_dict()


def ingest(store: Store, settings: Settings, root: Path, fmt: str = "claude",
           progress: Progress | None = None, space_check: bool = True,
           only: str | None = None) -> IngestResult:
    """The run (sessions derived at its end), then the search index and embeddings.

    Call `check_root(root, fmt)` before opening the store, so a mistyped path creates
    nothing. Raises SourceMissing, StoreLocked (another ingest holds the lock),
    StorageIOError (a disk full or failing; with `space_check`, one clearly too small).
    `only`: one file of `root` (relative), as the Stop hook captures one transcript."""
    from ..search.catchup import after_ingest

    stats = Ingest(store, settings, progress, space_check).run(root, fmt, only)
    if progress:
        progress.phase("updating the search index")
    result = IngestResult(stats, after_ingest(store, settings))  # the pipeline knows nothing of search
    if settings.memories.extract_on_ingest:
        from ..memories.lifecycle import extract

        if progress:
            progress.phase("extracting memories")
        try:
            result.memories = extract(store, settings.memories).to_json()
        except MemoryError_ as e:  # the run is stored; the next ingest extracts what is left
            result.memories = {"error": str(e)}
            result.search.setdefault("notes", []).append(
                f"memories not extracted this time ({e}); the next ingest catches up")
    return result
