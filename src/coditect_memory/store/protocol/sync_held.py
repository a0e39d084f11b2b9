"""What a machine's push held back (PRIVATE or EPHEMERAL when it looked), so a level change
that makes them shareable sends them after all (migration 0021)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class SyncHeldStore(ABC):
    @abstractmethod
    def sync_hold(self, ids: list[int]) -> None:
        """These messages were passed by the push cursor without being sent."""

    @abstractmethod
    def sync_held_sessions(self) -> list[tuple[str | None, str | None]]:
        """(session id, project path) of every held message's session, once each."""

    @abstractmethod
    def sync_held_rows(self, session_ids: list[str | None], after_id: int,
                       limit: int) -> list[dict[str, Any]]:
        """Up to `limit` held messages of these sessions with id > after_id, by id, as
        `sync_push_rows` gives them."""

    @abstractmethod
    def sync_release(self, ids: list[int]) -> None:
        """These held messages are settled (sent, or held again under their new id)."""
