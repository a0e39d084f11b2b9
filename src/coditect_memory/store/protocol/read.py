"""What the read commands ask: status, runs, sessions, messages, files, integrity."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class ReadStore(ABC):
    # --- read side ------------------------------------------------------------------------
    @abstractmethod
    def status(self) -> dict[str, Any]: ...

    @abstractmethod
    def runs(self, limit: int = 20) -> list[dict[str, Any]]: ...

    @abstractmethod
    def run_errors(self, run_id: int, limit: int = 50) -> list[dict[str, Any]]: ...

    @abstractmethod
    def sessions(self, project: str | None = None, limit: int = 50) -> list[dict[str, Any]]: ...

    @abstractmethod
    def session(self, session_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def session_messages(self, session_id: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def files(self, kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def check(self) -> list[str]:
        """Integrity problems of the store itself, each a sentence; empty when healthy."""

