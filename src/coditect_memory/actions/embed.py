"""`memory embed --watch`: embedding in the background, on a CPU budget.

It embeds what is new every `interval` seconds until `stop` is set (Ctrl-C or SIGTERM in the
CLI). The budget: the model's thread count, a lower scheduling priority (`os.nice`) and a
duty cycle (after each batch it rests so that embedding takes `duty` of the wall time). Each
batch is committed with the watermark (search/vectors.py), so a stop, even mid-batch, leaves
nothing half-written, and the next run resumes where this one stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from threading import Event
from typing import Any

from ..search import vectors
from ..search.cache import SearchCache
from ..search.embedder import require
from ..settings import Settings
from ..store.base import Store

__all__ = ["WatchRequest", "WatchSummary", "watch"]


@dataclass
class WatchRequest:
    model: str = ""  # "": [search] model when set, else the model search uses
    threads: int = 1  # the model's CPU threads
    nice: int = 10  # added to the process's niceness (0: unchanged)
    duty: float = 0.5  # share of the wall time spent embedding while there is work
    interval: float = 10.0  # seconds between looks for new messages


@dataclass
class WatchSummary:
    embedded: int  # units embedded by this run
    rounds: int  # looks for new messages
    seconds: float
    model: str
    vectors: int  # embeddings of the model in the store, in all
    pending: int  # still to embed when it stopped

    def to_json(self) -> dict[str, Any]:
        return {"embedded": self.embedded, "rounds": self.rounds, "seconds": round(self.seconds, 3),
                "model": self.model, "vectors": self.vectors, "pending": self.pending}


def watch(store: Store, settings: Settings, request: WatchRequest, stop: Event,
          progress: vectors.Progress | None = None,
          on_round: Callable[[vectors.EmbedResult], None] | None = None) -> WatchSummary:
    """Embed what is new until `stop` is set; `on_round` hears of each round that embedded
    something (`progress(done, total)` of the units within a round)."""
    import time

    model = vectors.embed_target(store, settings.search.model, request.model)
    require(model)
    if request.nice:
        os.nice(request.nice)
    cache = SearchCache()
    t0 = time.perf_counter()
    embedded = rounds = 0
    while not stop.is_set():
        res = vectors.embed(store, model, cache, progress, threads=request.threads,
                            stop=stop, duty=request.duty)
        embedded += res.embedded
        rounds += 1
        if res.embedded and on_round:
            on_round(res)
        stop.wait(request.interval)
    return WatchSummary(embedded=embedded, rounds=rounds, seconds=time.perf_counter() - t0,
                        model=model, vectors=store.embedding_count(model),
                        pending=vectors.pending(store, model))
