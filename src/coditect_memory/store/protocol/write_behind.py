"""An ingest run's batches written behind: the store writes batch N in another process while
the caller parses batch N+1 (`store/sqlite/behind.py`, for both backends: on PostgreSQL the
process has its own connection to the server)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class WriteBehindStore(ABC):
    @abstractmethod
    def write_behind(self) -> bool:
        """From now until `written()`, `write_batch` hands each batch to a writer and returns
        (0, 0): the counts come from `written()`. True when it does (False: batches are
        written, and counted, as `write_batch` is called)."""

    @abstractmethod
    def written(self) -> tuple[int, int]:
        """Wait until every batch handed over is committed, end the writer and return their
        (new rows, duplicates); a batch's failure is raised here or by the `write_batch`
        after it (nothing of that batch is kept, and nothing after it is written). (0, 0)
        when nothing was written behind."""
