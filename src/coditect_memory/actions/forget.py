"""`memory forget`: GDPR deletion. Soft at once (the rows leave every read path: moved out
of `messages`, their index documents and vectors deleted, their uids tombstoned so a re-ingest
does not bring them back); hard at once with `hard`, else after [privacy] purge_after_days
(`purge`, run by the next ingest or `memory privacy purge`)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import NotFound, StorageIOError, UsageError
from ..privacy import audit
from ..settings import Settings
from ..store import Store
from ..store.protocol.privacy import ForgetPlan, ForgetSelector
from ..timeutil import iso

DAY_MS = 86_400_000


@dataclass(frozen=True)
class ForgetRequest:
    selector: ForgetSelector
    reason: str | None = None
    hard: bool = False
    actor: str | None = None  # who asked, for the audit log (default: the local user)


@dataclass(frozen=True)
class ForgetResult:
    forget_id: int
    messages: int
    sessions: int
    hard: bool
    purge_at: str | None
    index_documents_removed: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def selector_json(sel: ForgetSelector) -> str:
    """What was asked, for the record: never the --match text itself (it is the content)."""
    out: dict[str, Any] = {}
    if sel.sessions:
        out["sessions"] = list(sel.sessions)
    if sel.project:
        out["project"] = sel.project
    if sel.match:
        out["match_sha256"] = hashlib.sha256(sel.match.encode()).hexdigest()
    if sel.before_ms is not None:
        out["before"] = iso(sel.before_ms)
    return orjson.dumps(out, option=orjson.OPT_SORT_KEYS).decode()


def plan(store: Store, sel: ForgetSelector) -> ForgetPlan:
    if sel.empty():
        raise UsageError("say what to forget: --session ID, --project P, --match TEXT or --before DATE")
    found = store.forget_plan(sel)
    if not found.messages:
        raise NotFound("nothing matches: no message would be forgotten")
    return found


def forget(store: Store, settings: Settings, request: ForgetRequest) -> ForgetResult:
    from ..search import indexer

    sel = request.selector
    plan(store, sel)
    now = int(time.time() * 1000)
    purge_at = now + settings.privacy.purge_after_days * DAY_MS
    done = store.forget(sel, selector_json(sel), request.reason, now, purge_at)
    # recorded once the rows are gone from every read path, before the index work can fail
    audit.record(store, "forget", target=selector_json(sel), reason=request.reason,
                 detail={"forget_id": done.forget_id, "messages": done.messages,
                         "sessions": done.sessions, "hard": request.hard}, actor=request.actor,
                 home=settings.home)
    try:
        removed, segments = indexer.forget_noted(store, settings.search.index_dir, done.message_ids)
    except (OSError, ValueError, RuntimeError) as e:  # Tantivy's I/O errors included
        raise index_error("hidden from every read path", e) from e
    if request.hard:  # this forget's rows and index segments only: others keep their schedule
        purge(store, settings, due_only=False, forget_id=done.forget_id, segments=segments)
    return ForgetResult(done.forget_id, done.messages, done.sessions, request.hard,
                        None if request.hard else iso(purge_at), removed)


def index_error(done: str, e: BaseException) -> StorageIOError:
    """One line: what is already done, why the index is behind, what to run."""
    cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return StorageIOError(f"the forgotten rows are {done}, but the keyword index could not be "
                          f"updated ({cause}); free space if the disk is full, then run "
                          "`memory index --rebuild`")


def purge(store: Store, settings: Settings, due_only: bool = True, forget_id: int | None = None,
          segments: set[str] | None = None) -> int:
    """Hard-delete the held rows (those due, or all; or one forget's) and leave no copy of
    them in the store's free pages, its WAL, the keyword index (the segments holding their
    deleted documents are rewritten: `indexer.expunge`, of `segments` when known) or the
    vector cache (rebuilt from the store when next used)."""
    import shutil

    from ..search import indexer
    from ..search.cache import SearchCache

    n = store.purge_forgotten(int(time.time() * 1000) if due_only else None, forget_id)
    if not n:
        return n
    index_dir = settings.search.index_dir
    for folder in index_dir.glob("vectors-*"):
        shutil.rmtree(folder, ignore_errors=True)
    state = store.index_state(indexer.ENGINE)
    if state and state["index_id"]:
        try:
            if indexer.expunge(store, index_dir, only=segments) is None:
                indexer.sync(store, index_dir, SearchCache(), rebuild=True)
        except (OSError, ValueError, RuntimeError, StorageIOError) as e:  # Tantivy's I/O errors too
            raise index_error("deleted", e) from e
    return n
