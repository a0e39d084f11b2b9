"""What a process keeps open between searches: keyword indexes and embedding models.

Opening an index or loading a model costs far more than a query, so they are opened once
and reused. No module holds them: the caller owns a `SearchCache` and passes it down (the
CLI one per command, a server one per process).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING

from .embedder import Embedder, load
from .index import KeywordIndex

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

QUERY_VECTORS = 256  # query embeddings remembered (a page turned, the same question again)
WORKERS = 4  # threads for the semantic half of hybrid searches running at once


class SearchCache:
    def __init__(self, one_shot: bool = False) -> None:
        """`one_shot`: the cache of a single search (a `memory search` command), which opens
        the query encoder quickly rather than making its later queries faster."""
        self.one_shot = one_shot
        self._indexes: dict[Path, KeywordIndex] = {}
        self._models: dict[tuple[str, int | None, bool], Embedder] = {}
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None
        self._lock = Lock()  # a server's request threads share the cache

    def pool(self) -> ThreadPoolExecutor:
        """Threads for work that overlaps a search's own (hybrid's semantic half: ONNX
        Runtime, NumPy and Tantivy release the GIL, so it runs beside the keyword half)."""
        # ~5 ms to import: here, not at the top, so that keyword searches do not pay it
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None:
            self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="search")
        return self._pool

    def forget_queries(self) -> None:
        """Forget the remembered query embeddings (a benchmark measures the embedding too)."""
        with self._lock:
            self._vectors.clear()

    def query_vector(self, model: str, text: str) -> np.ndarray:
        """The embedding of a query, remembered for the QUERY_VECTORS latest texts."""
        key = (model, text)
        with self._lock:
            vec = self._vectors.get(key)
            if vec is not None:
                self._vectors.move_to_end(key)
                return vec
        vec = self.query_encoder(model).embed([text])[0]
        with self._lock:
            self._vectors[key] = vec
            if len(self._vectors) > QUERY_VECTORS:
                self._vectors.popitem(last=False)
        return vec

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
