"""Search use cases: `memory search`, `memory embed`, `memory index`.

Each takes the Settings, an open Store (it must exist: these never create one, but they do
write the index state, tails and embeddings) and a request; an optional `SearchCache` keeps
the keyword index and the model open across calls (a server passes one per process; without
it each call opens its own), and `progress(done, total)` reports long index or embed work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import NotFound
from ..search import indexer, vectors
from ..search.cache import SearchCache
from ..search.embedder import require
from ..search.service import ResultRow, SearchRequest, SearchResult
from ..search.service import search as run_search
from ..settings import Settings
from ..store.base import Store

__all__ = ["EmbedRequest", "EmbedSummary", "IndexRequest", "IndexSummary", "ResultRow",
           "SearchRequest", "SearchResult", "VersionView", "embed", "index", "search",
           "show_version"]

Progress = indexer.Progress


def search(store: Store, settings: Settings, request: SearchRequest,
           cache: SearchCache | None = None, progress: Progress | None = None) -> SearchResult:
    """One page of results; the keyword index is brought up to date first when it is behind
    (`progress` then reports the indexing)."""
    return run_search(store, settings.search, request, cache or SearchCache(one_shot=True), progress)


@dataclass
class EmbedRequest:
    limit: int | None = None  # stop after this many messages (the next call resumes)
    model: str = ""  # "": [search] model when set, else the model search uses (vectors.embed_target)


@dataclass
class EmbedSummary:
    embedded: int
    pending: int  # still to embed when stopped by the limit
    seconds: float
    model: str
    vectors: int  # embeddings of the model in the store, in all
    search_model: str  # the model search uses now (another until `model` has caught up)

    def to_json(self) -> dict[str, Any]:
        return {"embedded": self.embedded, "pending": self.pending,
                "seconds": round(self.seconds, 3), "model": self.model, "vectors": self.vectors,
                "search_model": self.search_model}


def embed(store: Store, settings: Settings, request: EmbedRequest | None = None,
          cache: SearchCache | None = None, progress: Progress | None = None) -> EmbedSummary:
    """Embed the messages not embedded yet (incremental, resumable), then warm the vector
    cache so the next semantic search does not build it."""
    request = request or EmbedRequest()
    model = vectors.embed_target(store, settings.search.model, request.model)
    require(model)
    res = vectors.embed(store, model, cache or SearchCache(), progress=progress,
                        limit=request.limit)
    active = vectors.active_model(store, settings.search.model)
    vectors.load_index(store, settings.search.index_dir, active)
    return EmbedSummary(embedded=res.embedded, pending=res.pending, seconds=res.seconds,
                        model=res.model, vectors=store.embedding_count(model), search_model=active)


@dataclass
class IndexRequest:
    rebuild: bool = False  # from the store, into a new index folder


@dataclass
class IndexSummary:
    sync: indexer.SyncResult
    documents: int  # in the index now

    def to_json(self) -> dict[str, Any]:
        return {**self.sync.as_dict(), "documents": self.documents}


def index(store: Store, settings: Settings, request: IndexRequest | None = None,
          cache: SearchCache | None = None, progress: Progress | None = None) -> IndexSummary:
    """Bring the keyword index up to date with the store, or rebuild it (waits for another
    process updating it)."""
    request = request or IndexRequest()
    cache = cache or SearchCache()
    index_dir = settings.search.index_dir
    res = indexer.sync(store, index_dir, cache, rebuild=request.rebuild, progress=progress, wait=True)
    _, state = indexer.current_index(store, index_dir, cache)
    return IndexSummary(sync=res, documents=state["docs"] if state else 0)


@dataclass
class VersionView:
    """A file version as `memory show version` prints it: the content before an edit."""

    uid: str
    session_id: str | None  # the session that wrote it
    file_path: str | None  # None when no transcript of the session named the file
    file_version: int | None
    backup: str  # '<hash>@v<N>' under file-history/<session>/
    size: int  # bytes
    content: str | None  # None for a binary file

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "session_id": self.session_id, "file_path": self.file_path,
                "file_version": self.file_version, "backup": self.backup, "size": self.size,
                "binary": self.content is None, "content": self.content}


def show_version(store: Store, uid: str) -> VersionView:
    """The whole content of a file version (a search hit's `open` command names its uid)."""
    v = store.file_version(uid, 2**31 - 1)
    if v is None:
        raise NotFound(f"no file version {uid!r}: `memory search --source file_history` finds them")
    return VersionView(uid=v.uid, session_id=v.session_id, file_path=v.path, file_version=v.version,
                       backup=v.backup, size=v.size, content=v.text)
