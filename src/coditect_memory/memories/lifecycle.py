"""Incremental extraction after an ingest, then decay and archival.

A watermark on messages.id (memory_state 'extract') lands with each batch of memories, so an
interrupted run resumes where it stopped and a second run finds nothing to do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..settings import MemorySettings
from ..store.base import Store
from .extract import Extractor


@dataclass
class ExtractResult:
    messages: int = 0
    drafts: int = 0
    new: int = 0
    archived: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, float | int]:
        return {"messages": self.messages, "drafts": self.drafts, "new": self.new,
                "archived": self.archived, "seconds": round(self.seconds, 3)}


def extract(store: Store, settings: MemorySettings, batch: int = 20000) -> ExtractResult:
    """Extract from every message after the watermark, then decay what was not seen."""
    started = time.monotonic()
    res = ExtractResult()
    after = store.memory_watermark()
    upto = store.max_message_id()
    extractor = Extractor()
    while after < upto:
        rows = store.rows_to_extract(after, upto, batch)
        done = rows[-1].id if len(rows) == batch else upto
        drafts = extractor.feed(rows)
        res.messages += len(rows)
        res.drafts += len(drafts)
        res.new += store.put_memories(drafts, watermark=done)
        after = done
    res.archived = store.decay_memories(int(time.time() * 1000), settings.half_life_days,
                                        settings.archive_below)
    res.seconds = time.monotonic() - started
    return res
