"""What memories, context packs and checkpoints ask of a store.

A memory is one remembered thing (a decision, a preference, a fact, an error and its fix, an
open todo, a recurring pattern) with the message uids it was drawn from and the entities it
names. Extraction reads messages after a watermark (`ExtractRow`), writes `MemoryDraft`s, and
the store consolidates: a draft whose (project, type, normalised text) is already stored
reinforces that memory and adds its evidence instead of making a second one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypedDict

MEMORY_TYPES = ("decision", "preference", "fact", "error_fix", "todo", "pattern")
# The tool calls whose arguments the rules read (memories.extract); rows_to_extract gives no other.
EXTRACT_TOOLS = ("Bash", "Edit", "MultiEdit", "TodoWrite", "Write")


class ExtractRow(NamedTuple):
    """A message as the extraction rules read it."""

    id: int
    uid: str
    session_id: str | None
    project_id: int | None
    source_kind: str
    type: str
    role: str | None
    content: str | None
    ts: int | None
    tool_name: str | None
    tool_use_id: str | None
    is_error: int
    is_meta: int
    is_prompt: int


@dataclass
class MemoryDraft:
    """A memory as a rule found it (or a person wrote it)."""

    type: str
    text: str
    norm: str
    project_id: int = 0
    importance: float = 0.5
    entities: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    evidence: list[tuple[str, str | None, int | None]] = field(default_factory=list)  # uid, session, ts
    status: str = "active"  # a todo seen completed arrives as "done"


class Memory(TypedDict):
    id: int
    project: str | None  # path; None: every project
    project_name: str | None
    type: str
    text: str
    importance: float
    pinned: bool
    origin: str  # extracted | user
    status: str  # active | archived | forgotten | done
    seen_count: int
    first_seen: str | None
    last_seen: str | None
    last_used: str | None
    session_id: str | None
    entities: list[str]  # "kind:name"


class Evidence(TypedDict):
    uid: str
    session_id: str | None
    timestamp: str | None


@dataclass
class MemoryFilter:
    project_id: int | None = None  # None: every project; memories of project 0 always come too
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("active",)
    pinned_only: bool = False
    min_seen: dict[str, int] = field(default_factory=dict)  # {type: seen at least} (patterns)
    words: tuple[str, ...] = ()  # each must be in the normalised text (lower case, words only)
    with_entities: bool = True  # False: `entities` left empty (the context pack needs none)
    limit: int = 200
    # None: no limit; else only memories of these projects, not those of every project (what
    # an API token scoped to submodules may see)
    visible_projects: tuple[int, ...] | None = None


class Related(TypedDict):
    entity: str
    memories: list[Memory]
    sessions: list[dict[str, Any]]  # {session_id, timestamp, memories}
    entities: list[dict[str, Any]]  # {entity, shared}: named by the same memories


class MemoryStore(ABC):
    # --- extraction ------------------------------------------------------------------
    @abstractmethod
    def memory_watermark(self, name: str = "extract") -> int: ...

    @abstractmethod
    def rows_to_extract(self, after_id: int, upto_id: int, batch: int = 20000) -> list[ExtractRow]:
        """Live, non-history-copy messages with after_id < id <= upto_id of the kinds the rules
        read (transcripts, todos, plans, memory notes; tool calls of EXTRACT_TOOLS), in id
        order, at most `batch`."""

    @abstractmethod
    def put_memories(self, drafts: list[MemoryDraft], watermark: int | None = None,
                     name: str = "extract") -> int:
        """Store drafts, consolidating: an existing (project, type, norm) is reinforced
        (seen_count, last_seen, importance up) and gets the new evidence; a pinned or
        user-edited text is never overwritten. With `watermark`, it lands in the same
        transaction. Returns how many memories were new."""

    # --- a person's hand -------------------------------------------------------------
    @abstractmethod
    def add_memory(self, draft: MemoryDraft, pinned: bool = False) -> int:
        """A memory a person added (origin 'user'); returns its id."""

    @abstractmethod
    def update_memory(self, memory_id: int, *, text: str | None = None, norm: str | None = None,
                      type: str | None = None, importance: float | None = None,
                      pinned: bool | None = None, status: str | None = None) -> bool:
        """Change the given fields; False when there is no such memory."""

    @abstractmethod
    def touch_memories(self, ids: list[int], now: int) -> None:
        """They were used (put in a pack): last_used = now."""

    # --- reading ---------------------------------------------------------------------
    @abstractmethod
    def memories(self, flt: MemoryFilter) -> list[Memory]:
        """Pinned first, then by importance and last seen."""

    @abstractmethod
    def memory(self, memory_id: int) -> Memory | None: ...

    @abstractmethod
    def memory_evidence(self, memory_id: int, limit: int = 50) -> list[Evidence]: ...

    @abstractmethod
    def related(self, entity: str, limit: int = 50) -> Related:
        """Everything about an entity named exactly or as a path suffix (`env.py` finds
        `alembic/env.py`)."""

    @abstractmethod
    def project_for_cwd(self, cwd: str) -> tuple[int, str, str] | None:
        """(id, path, name) of the project at `cwd` or the nearest folder above it."""

    # --- lifecycle -------------------------------------------------------------------
    @abstractmethod
    def decay_memories(self, now: int, half_life_days: dict[str, float], archive_below: float) -> int:
        """Importance halves every `half_life_days[type]` since last seen or used, on the
        project's clock (its latest activity, at most `now`; `now` for memories of no project); extracted,
        unpinned memories below `archive_below` are archived. A memory decayed in the last few
        hours is left alone (each write lands in the backup change log). Returns how many
        were archived."""

    # --- packs and checkpoints -------------------------------------------------------
    @abstractmethod
    def put_pack(self, pack_id: str, project_id: int, created_at: int, body: dict[str, Any]) -> None: ...

    @abstractmethod
    def packs(self, project_id: int, limit: int = 2) -> list[dict[str, Any]]:
        """The newest packs of a project (their bodies), newest first."""

    @abstractmethod
    def put_checkpoint(self, checkpoint_id: str, project_id: int, session_id: str | None,
                       note: str | None, created_at: int, body: dict[str, Any]) -> bool:
        """False when that id is stored already (checkpoints are immutable)."""

    @abstractmethod
    def checkpoints(self, project_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first: the bodies."""

    @abstractmethod
    def checkpoint(self, checkpoint_id: str) -> dict[str, Any] | None:
        """By id or a unique prefix of it."""
