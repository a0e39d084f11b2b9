"""What search asks of a store: rows to index, hydration of hits, embeddings, index state."""

from __future__ import annotations

from abc import ABC


class SearchStore(ABC):  # noqa: B024 - methods become abstract as each concern moves here
    pass
