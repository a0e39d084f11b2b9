"""What the REST API asks of a store: its token registry, submodules, a person's session
notes, an audit line per write, pages of sessions and messages, and the store generation.

The generation is a value every write changes (an ingest or import run, a restore, an index
or embedding update, an API write): a cache keyed on it never serves a stale answer, even
when the write came from another process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from .read import Message, Session


class TokenRow(TypedDict):
    id: str
    name: str
    scope: str  # read, write, admin, metrics
    submodules: list[str]  # empty: sees everything
    created_at: str | None  # ISO 8601
    expires_at: str | None
    revoked_at: str | None


class SubmoduleRow(TypedDict):
    name: str
    paths: list[str]
    git_url: str | None
    created_at: str | None


class SessionNote(TypedDict):
    title: str | None
    tags: list[str]


class PagedMessage(Message):
    id: int  # the store's monotonic message id: the cursor of /messages
    session_id: str | None
    project: str | None


@dataclass(frozen=True)
class MessageFilter:
    """What /messages restricts to (None: anything)."""

    session_ids: tuple[str, ...] | None = None
    project_ids: tuple[int, ...] | None = None
    since: int | None = None  # epoch ms, inclusive
    until: int | None = None  # epoch ms, inclusive
    sources: tuple[str, ...] | None = None  # source kinds


class AccessStore(ABC):
    # --- tokens --------------------------------------------------------------------------
    @abstractmethod
    def add_token(self, token_id: str, name: str, scope: str, submodules: list[str],
                  created_ms: int, expires_ms: int | None) -> None: ...

    @abstractmethod
    def tokens(self) -> list[TokenRow]:
        """Every issued token, oldest first."""

    @abstractmethod
    def token(self, token_id: str) -> TokenRow | None: ...

    @abstractmethod
    def revoke_token(self, token_id: str, at_ms: int) -> bool:
        """Whether a token with that id was there and not revoked yet."""

    # --- submodules ----------------------------------------------------------------------
    @abstractmethod
    def put_submodule(self, name: str, paths: list[str], git_url: str | None,
                      created_ms: int) -> None:
        """Add the submodule, or replace its paths and URL."""

    @abstractmethod
    def submodules(self) -> list[SubmoduleRow]: ...

    @abstractmethod
    def remove_submodule(self, name: str) -> bool: ...

    # --- what a person set on a session, and who wrote what ------------------------------
    @abstractmethod
    def session_notes(self, session_ids: Iterable[str]) -> dict[str, SessionNote]: ...

    @abstractmethod
    def put_session_note(self, session_id: str, title: str | None, tags: list[str] | None,
                         by: str | None, submodule: str | None, at_ms: int) -> SessionNote:
        """Set the title and/or the tags (None leaves it as it is); returns the note."""

    @abstractmethod
    def record_write(self, token_name: str | None, submodule: str | None, action: str,
                     target: str | None, at_ms: int) -> None:
        """One audit line for a write made through the API (it also bumps the generation)."""

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """{"messages", "sessions", "projects"}: rows stored (deleted ones too), and
        "schema_version"; cheap, for /health and /metrics (`status()` reads far more)."""

    @abstractmethod
    def generation(self) -> str:
        """Changes whenever anything a reader sees may have changed (cheap: a few rows)."""

    # --- pages -------------------------------------------------------------------------
    @abstractmethod
    def sessions_page(self, project_ids: tuple[int, ...] | None, after: tuple[int, str] | None,
                      limit: int) -> tuple[list[Session], tuple[int, str] | None]:
        """Sessions newest first, after the key (started ms, id) of the last one seen;
        returns the page and the key to continue from (None: no more)."""

    @abstractmethod
    def messages_page(self, where: MessageFilter, after_id: int, limit: int) -> list[PagedMessage]:
        """Live messages with id > after_id in id order: ids only grow, so a page never
        repeats or skips a message while ingest writes."""
