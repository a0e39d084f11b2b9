"""What `memory import` asks of a store beyond ingest's writes."""

from __future__ import annotations

from abc import ABC, abstractmethod


class TransferStore(ABC):
    @abstractmethod
    def content_hashes(self, uids: list[str]) -> dict[str, str | None]:
        """The stored content_hash of each of `uids` that is stored (uid -> hash): how an
        import tells a message already stored from a different one under the same uid."""
