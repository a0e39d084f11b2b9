"""What a process keeps open between searches: keyword indexes and embedding models.

Opening an index or loading a model costs far more than a query, so they are opened once
and reused. No module holds them: the caller owns a `SearchCache` and passes it down (the
CLI one per command, a server one per process).
"""

from __future__ import annotations

from pathlib import Path

from .embedder import Embedder, load
from .index import KeywordIndex


class SearchCache:
    def __init__(self, one_shot: bool = False) -> None:
        """`one_shot`: the cache of a single search (a `memory search` command), which opens
        the query encoder quickly rather than making its later queries faster."""
        self.one_shot = one_shot
        self._indexes: dict[Path, KeywordIndex] = {}
        self._models: dict[tuple[str, int | None, bool], Embedder] = {}

    def keyword_index(self, path: Path) -> KeywordIndex | None:
        """The index at `path`, opened once; None when it is missing, damaged or from an
        incompatible version (it is then rebuilt)."""
        if not (path / "meta.json").exists():
            self._indexes.pop(path, None)
            return None
        if path not in self._indexes:
            try:
                self._indexes[path] = KeywordIndex(path)
            except ValueError:
                return None
        return self._indexes[path]

    def embedder(self, model: str, threads: int | None = None) -> Embedder:
        """The model, loaded once (per thread count: `memory embed --watch` runs on a budget)."""
        key = (model, threads, False)
        if key not in self._models:
            self._models[key] = load(model, threads=threads)
        return self._models[key]

    def query_encoder(self, model: str) -> Embedder:
        """The model as a query encoder: one thread (one short text is fastest on one), opened
        quickly for a one-shot search (~1 s less to open, ~30% more per query: measured)."""
        key = (model, 1, True)
        if key not in self._models:
            self._models[key] = load(model, threads=1, quick_open=self.one_shot)
        return self._models[key]
