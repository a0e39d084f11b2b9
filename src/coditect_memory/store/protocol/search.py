"""What search asks of a store: rows to index, hydration of hits, embeddings, index state.

The keyword index and the vectors live outside the store (derived data); the store keeps
what they are built from and, per engine, how far they have got (`IndexState`), so that an
index can always be rebuilt or caught up. Rows cross this boundary as the small types below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import NamedTuple, TypedDict


class IndexState(TypedDict):
    """How far one search engine ("keyword", "semantic:<model>") has followed the store."""

    engine: str
    index_id: str | None  # the keyword index folder the state belongs to (the model for vectors)
    done_id: int  # every message up to this id is in the index
    last_run_id: int  # every ingest run up to this one has been looked at
    docs: int
    updated_at: int  # epoch ms


class IndexRow(NamedTuple):
    """A message as the keyword index reads it."""

    id: int
    uid: str
    session_id: str | None
    project_id: int | None
    source_kind: str
    type: str
    role: str | None
    content: str | None  # a file version's: FileVersion.indexed_text() (its text is a blob)
    ts: int | None
    component: str | None
    level: str | None  # the row's level, or "error" for a failed tool call (is_error)
    tool_name: str | None
    is_meta: int
    linked_uid: str | None
    deleted_at: int | None
    source_file_id: int | None
    content_hash: str | None


class EmbedRow(NamedTuple):
    """A message to embed."""

    id: int
    content: str
    content_hash: str | None
    type: str
    is_meta: int


class VectorRow(NamedTuple):
    """An embedded live message with the columns the vector index filters on."""

    message_id: int
    vector: bytes  # float16, little-endian
    ts: int | None
    project_id: int | None
    session_id: str | None
    source_kind: str
    type: str
    role: str | None


class HitFields(TypedDict):
    """Where a hit is and what it is, named as in `show session`: shared by the store's hit
    and the `memory search` result."""

    uid: str
    session_id: str | None
    project: str | None
    project_name: str | None
    timestamp: str | None
    source_kind: str
    source_file: str | None
    source_line: int | None
    type: str
    role: str | None
    tool_name: str | None
    component: str | None
    level: str | None  # as IndexRow.level
    is_error: bool


class StoredHit(HitFields):
    """A search hit as the store gives it, with the content the snippet is cut from."""

    content: str


class SearchStore(ABC):
    # --- index state and watermarks ----------------------------------------------------
    @abstractmethod
    def index_state(self, engine: str) -> IndexState | None: ...

    @abstractmethod
    def put_index_state(self, engine: str, index_id: str | None, done_id: int, last_run_id: int,
                        docs: int, expect_index_id: str | None = None) -> bool:
        """Write the state; with expect_index_id, only if the row still names that index (a
        rebuild in between wins). Returns whether it was written."""

    @abstractmethod
    def max_message_id(self) -> int: ...

    @abstractmethod
    def settled_run_id(self) -> int:
        """The newest run such that every run up to it has finished: files touched by a run
        still going are looked at again next time."""

    @abstractmethod
    def running_ingest_pids(self) -> list[int]:
        """Process ids of the ingest runs marked running (some may have died)."""

    # --- rows to index -------------------------------------------------------------------
    @abstractmethod
    def rows_to_index(self, after_id: int, upto_id: int, batch: int = 5000,
                      lean: bool = False, file_texts: bool = True) -> Iterator[list[IndexRow]]:
        """Every message with after_id < id <= upto_id, in id order, `batch` at a time.
        `lean`: without `uid` ('') and `content_hash` (None), which the keyword index does not
        read (SQLite recomputes a hash it does not keep). `file_texts=False`: a file
        version's `content` stays None (its text is a blob), for a reader that skips them."""

    @abstractmethod
    def rows_by_ids(self, ids: Iterable[int], lean: bool = False) -> list[IndexRow]:
        """The messages of these ids (`lean` as in rows_to_index)."""

    @abstractmethod
    def message_ids_in_sessions(self, sessions: Iterable[str], upto_id: int) -> list[int]: ...

    @abstractmethod
    def files_read_since(self, run_id: int) -> list[int]:
        """Source files read by a run after this one."""

    @abstractmethod
    def tail_message_ids(self, file_ids: list[int]) -> list[int]:
        """The last indexed message of each of these files (a debug log's last entry grows)."""

    @abstractmethod
    def put_tails(self, tails: dict[int, int], replace: bool = False) -> None:
        """Record {source file id: its last message id}; `replace` forgets every other file."""

    # --- filters and hits ----------------------------------------------------------------
    @abstractmethod
    def project_ids(self, value: str) -> list[int]:
        """Projects named by their path or their name (a path with a trailing slash too)."""

    @abstractmethod
    def session_ids(self, value: str) -> list[str]:
        """A session id or a unique-enough prefix of one (like `show session`)."""

    @abstractmethod
    def project_labels(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """{project id: (path, name)}."""

    @abstractmethod
    def hydrate(self, ids: list[int]) -> dict[int, StoredHit]:
        """The hits for these message ids; deleted ones are left out."""

    # --- embeddings ----------------------------------------------------------------------
    @abstractmethod
    def embeddable_rows(self, types: tuple[str, ...], after_id: int, upto_id: int,
                        batch: int) -> list[EmbedRow]:
        """Live messages of these types that have text and are not history copies, in id
        order after a watermark."""

    @abstractmethod
    def count_embeddable(self, types: tuple[str, ...], after_id: int, upto_id: int) -> int: ...

    @abstractmethod
    def put_embeddings(self, model: str, rows: list[tuple[int, str | None, bytes]], engine: str,
                       done_id: int, last_run_id: int) -> None:
        """(message id, content hash, vector) rows and the engine's watermark, in one
        transaction: an interrupted backfill resumes exactly."""

    @abstractmethod
    def delete_embeddings(self, model: str, ids: list[int]) -> None: ...

    @abstractmethod
    def embedding_count(self, model: str) -> int: ...

    @abstractmethod
    def all_vectors(self, model: str) -> Iterator[VectorRow]:
        """Every live embedded message, in id order: what the vector index is built from."""
