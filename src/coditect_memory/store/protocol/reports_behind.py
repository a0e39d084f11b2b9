"""A first ingest's report rollups built while the caller goes on: on SQLite they are one
pass over every row (~5 s at a million messages), needed by no step after derivation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager


class ReportsBehindStore(ABC):
    @abstractmethod
    def reports_behind(self) -> AbstractContextManager[None]:
        """Within this block (on this thread), a `derive_sessions` that builds the report
        rollups from nothing leaves them to a second connection and returns once the sessions
        are derived: `memory ingest` extracts memories meanwhile. They are in place when the
        block ends (its error, if any, raised there); outside it, `derive_sessions` returns
        with them in place, as always."""
