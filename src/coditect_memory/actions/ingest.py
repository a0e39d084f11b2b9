"""`ingest`: capture a Claude folder (or an extraction export) into the store, then let
search catch up with what is new."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MemoryError_
from ..ingest.pipeline import Ingest, Progress, RunStats, check_root
from ..settings import Settings
from ..store import Store

if TYPE_CHECKING:
    from ..search.indexer import Follower

__all__ = ["IngestResult", "Progress", "check_root", "ingest"]


@dataclass
class IngestResult:
    stats: RunStats
    search: dict[str, Any] = field(default_factory=dict)  # what the index and embeddings did
    memories: dict[str, Any] = field(default_factory=dict)  # what memory extraction did

    def to_json(self) -> dict[str, Any]:
        return self.stats.as_dict()


class _Alongside(Progress):
    """The caller's progress, and the moment the run knows how much it reads: a big run builds
    the keyword index in a second process while it reads (`search.indexer.Follower`)."""

    def __init__(self, inner: Progress | None, settings: Settings) -> None:
        self.inner = inner or Progress()
        self.settings = settings
        self.follower: Follower | None = None

    def start(self, total_bytes: int, files: int) -> None:
        self.inner.start(total_bytes, files)
        least = self.settings.ingest.index_alongside_bytes
        if self.settings.search.index_on_ingest and 0 <= least <= total_bytes:
            from ..search.indexer import Follower

            self.follower = Follower.start(self.settings)

    def advance(self, nbytes: int, messages: int) -> None:
        self.inner.advance(nbytes, messages)

    def phase(self, text: str) -> None:
        self.inner.phase(text)

    def finish(self) -> None:
        self.inner.finish()


def ingest(store: Store, settings: Settings, root: Path, fmt: str = "claude",
           progress: Progress | None = None, space_check: bool = True,
           only: str | None = None) -> IngestResult:
    """The run (sessions derived at its end), then the search index and embeddings.

    Call `check_root(root, fmt)` before opening the store, so a mistyped path creates
    nothing. Raises SourceMissing, StoreLocked (another ingest holds the lock),
    StorageIOError (a disk full or failing; with `space_check`, one clearly too small).
    `only`: one file of `root` (relative), as the Stop hook captures one transcript."""
    from ..search.catchup import after_ingest

    alongside = _Alongside(progress, settings)
    with store.reports_behind():  # a first build of the report rollups goes on while memories are extracted
        try:
            stats = Ingest(store, settings, alongside, space_check).run(root, fmt, only)
        except BaseException:
            if alongside.follower is not None:
                alongside.follower.stop()
            raise
        follower = alongside.follower
        if follower is not None:
            follower.run_done()  # it finishes the index while this process extracts memories
        try:
            memories, note = _extract_memories(store, settings, progress)
            if progress:
                progress.phase("updating the search index")
        finally:
            followed = follower.result() if follower is not None else None
    result = IngestResult(stats, after_ingest(store, settings), memories)  # the pipeline knows nothing of search
    if followed is not None:  # the index was built alongside: say what that did
        result.search["index"] = {**followed, "alongside": True}
    if note:
        result.search.setdefault("notes", []).append(note)
    return result


def _extract_memories(store: Store, settings: Settings,
                      progress: Progress | None) -> tuple[dict[str, Any], str | None]:
    """Memory extraction after the run: what it did, and a note when it failed (the run is
    stored; the next ingest extracts what is left)."""
    if not settings.memories.extract_on_ingest:
        return {}, None
    from ..memories.lifecycle import extract

    if progress:
        progress.phase("extracting memories")
    try:
        return extract(store, settings.memories).to_json(), None
    except MemoryError_ as e:
        return {"error": str(e)}, f"memories not extracted this time ({e}); the next ingest catches up"
