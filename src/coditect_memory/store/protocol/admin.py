"""What `memory db status|upgrade` and `memory status` ask of a backend about itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypedDict


class SchemaVersions(TypedDict):
    applied: list[int]  # migration versions the store has
    pending: list[int]  # versions this code knows that the store lacks (applied on write)
    known: list[int]  # every version this code knows


class AdminStore(ABC):
    @abstractmethod
    def schema_versions(self) -> SchemaVersions: ...

    @abstractmethod
    def server_version(self) -> str | None:
        """The database engine's version ("15.8"; SQLite's library version)."""
