"""What the keyword index built alongside an ingest asks of a store (`search/indexer.py`
`Follower`): it indexes rows as soon as they are committed, before session derivation fills
their project, session, tool name and history link, so at the end it reads those columns
back and indexes again only the rows whose values changed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

# (id, has_session, project_id, tool_name, linked_uid, deleted_at): has_session 1 or 0
DerivedRow = tuple[Any, ...]


class IndexFollowStore(ABC):
    @abstractmethod
    def derived_columns(self, after_id: int, upto_id: int,
                        batch: int = 50_000) -> Iterator[list[DerivedRow]]:
        """The columns derivation may change of the messages with after_id < id <= upto_id,
        in id order, `batch` rows at a time. Of the session only whether there is one:
        derivation only gives a session to a row without one (a history line it links, a
        plan), and the text cost 3 s of a 1M first ingest's end in SQLite (a Python function
        a row: packing.sid_sql)."""

    @abstractmethod
    def sessions_between(self, after_id: int, upto_id: int) -> set[str]:
        """The sessions of the messages with after_id < id <= upto_id."""

    @abstractmethod
    def session_project_ids(self, session_ids: Iterable[str]) -> dict[str, int | None]:
        """Each of these sessions' project (the one derivation gives all of its messages)."""

    @abstractmethod
    def small_cache(self) -> None:
        """This connection reads each row once: keep little of the database in memory (the
        follower runs beside the ingest, whose page cache is the one that helps)."""

    @abstractmethod
    def drop_index_states(self, prefix: str, keep: str) -> int:
        """Delete the search_state rows whose engine starts with `prefix`, but `keep`: the
        marker rows of indexes a rebuild replaced. Returns how many went."""
