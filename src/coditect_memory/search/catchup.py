"""What `memory ingest` calls when it is done, so the pipeline itself knows nothing of search:
the keyword index catches up with the new rows (built on the first ingest), and new prompts and
answers are embedded when semantic search is in use. A failure here never fails the ingest: the data is stored,
and the next `memory search` (or `memory index`) catches up."""

from __future__ import annotations

from typing import Any

from ..settings import Settings
from ..store.base import Store
from .cache import SearchCache

EMBED_AFTER_INGEST_MAX = 2000  # more than this is left to `memory embed` (it shows progress)


def embed_enabled(store: Store, setting: str, model: str) -> bool:
    from . import vectors
    from .embedder import available

    if setting == "false":
        return False
    if not available(model):
        return False
    return setting == "true" or vectors.has_embeddings(store, model)


def after_ingest(store: Store, config: Settings, cache: SearchCache | None = None) -> dict[str, Any]:
    """Update the keyword index and embed what is new; never raises (the ingest succeeded).
    What a person should know is in `notes` (the door prints it)."""
    notes: list[str] = []
    out: dict[str, Any] = {"notes": notes}
    from . import indexer, vectors

    cache = cache or SearchCache()
    try:
        settings = config.search
        # The keyword index is part of ingest (measured in benchmarks/RESULTS.md), so the
        # first search is instant; `index_on_ingest = false` leaves it to the first search.
        if settings.index_on_ingest:
            out["index"] = indexer.sync(store, settings.index_dir, cache, wait=True).as_dict()
        model = vectors.active_model(store, settings.model)  # the vectors search reads
        if embed_enabled(store, settings.embed_on_ingest, model):
            res = vectors.embed(store, model, cache, limit=EMBED_AFTER_INGEST_MAX)
            out["embed"] = res.as_dict()
            if res.pending:
                notes.append(f"{res.pending:,} new messages left to embed: run `memory embed`")
    except KeyboardInterrupt:
        raise
    except Exception as e:  # the ingest itself succeeded; say what to run, don't fail it
        notes.append(f"warning: the search index was not updated ({e}); "
                     "`memory index` will catch up")
        out["error"] = str(e)
    return out
