"""Reading the store: status, sessions, one session, runs, a run's bad records, doctor."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import NotFound, UsageError
from ..ingest.health import CaptureWarning, capture_warnings
from ..settings import Settings
from ..store import Store
from ..store.base import Message, Run, RunError, Session, Status
from ..store.protocol.access import MessageFilter, PagedMessage

# Bookkeeping lines a person does not read; `show session --all` shows them.
HIDDEN_TYPES = frozenset({"progress", "file-history-snapshot", "queue-operation", "last-prompt",
                          "permission-mode", "agent-setting", "turn_duration"})


@dataclass
class StatusResult:
    status: Status
    warnings: list[CaptureWarning] = field(default_factory=list)
    search: dict[str, Any] | None = None  # the embedding model in use (vectors.semantic_status)

    def to_json(self) -> dict[str, Any]:
        out = {**self.status, "warnings": [w.to_json() for w in self.warnings]}
        return out if self.search is None else {**out, "search": self.search}


def status(store: Store, settings: Settings | None = None) -> StatusResult:
    """What the store holds; with `settings`, also whether capture of its Claude folder is
    keeping up (`warnings`: never captured, stale, transcripts Claude Code will soon delete)."""
    s = store.status()
    if settings is None:
        return StatusResult(s)
    import time
    from datetime import datetime

    last = s["last_run"]
    finished = last["finished_at"] if last and last["status"] == "completed" else None
    when = datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp() if finished else None
    from ..search.vectors import semantic_status
    from .sync import sync_warnings

    return StatusResult(s, capture_warnings(store, settings.claude_root, time.time(), when)
                        + sync_warnings(store, settings), semantic_status(store, settings.search.model))


@dataclass
class SessionList:
    sessions: list[Session]

    def to_json(self) -> list[Session]:
        return self.sessions


def sessions(store: Store, project: str | None = None, limit: int = 50) -> SessionList:
    return SessionList(with_notes(store, store.sessions(project, limit)))


def with_notes(store: Store, rows: list[Session]) -> list[Session]:
    """Each session with the title and tags a person set (`tags`: [] when none)."""
    notes = store.session_notes(r["session_id"] for r in rows)
    out: list[Any] = []
    for r in rows:
        note = notes.get(r["session_id"])
        out.append({**r, "title": (note and note["title"]) or r["title"],
                    "tags": note["tags"] if note else []})
    return out


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def _uncursor(text: str | None) -> Any:
    if not text:
        return None
    try:
        return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        raise UsageError("cursor is not one this server gave: pass the next_cursor of the "
                         "previous page, or none for the first page") from None


@dataclass
class SessionPage:
    sessions: list[Session]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "next_cursor": self.next_cursor}


def session_page(store: Store, project_ids: tuple[int, ...] | None, cursor: str | None = None,
                 limit: int = 50) -> SessionPage:
    """Sessions newest first, a page at a time (`next_cursor` continues; None: no more)."""
    after = _uncursor(cursor)
    if after is not None and not (isinstance(after, list) and len(after) == 2
                                  and isinstance(after[0], int) and isinstance(after[1], str)):
        raise UsageError("cursor is not one this server gave; start again without one")
    rows, key = store.sessions_page(project_ids, tuple(after) if after else None, limit)
    return SessionPage(with_notes(store, rows), _cursor(list(key)) if key else None)


@dataclass
class MessagePage:
    messages: list[PagedMessage]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "next_cursor": self.next_cursor}


def message_page(store: Store, where: MessageFilter, cursor: str | None = None,
                 limit: int = 100) -> MessagePage:
    """Messages in store order (ids only grow): a page never repeats or skips a message while
    ingest writes; the last page's cursor picks up what is written later."""
    after = _uncursor(cursor) or 0
    if not isinstance(after, int) or after < 0:
        raise UsageError("cursor is not one this server gave; start again without one")
    rows = store.messages_page(where, after, limit)
    return MessagePage(rows, _cursor(rows[-1]["id"]) if rows else cursor)


def shown(m: Message) -> bool:
    """Whether a message is part of the conversation a person reads (not bookkeeping,
    not a duplicate of a prompt, not an empty turn; log lines only at warn and error)."""
    kind = m["type"]
    return not (kind in HIDDEN_TYPES or m["is_meta"] or m["linked_uid"]
                or (kind == "log" and m["level"] not in ("warn", "error"))
                or (kind in ("user", "assistant") and not (m["content"] or "").strip()))


def visible(messages: list[Message], show_all: bool = False) -> list[Message]:
    return messages if show_all else [m for m in messages if shown(m)]


@dataclass
class SessionView:
    session: Session
    messages: list[Message]  # every message (the JSON has them all)
    visible: list[Message]  # what a person reads: all of them with show_all

    def to_json(self) -> dict[str, Any]:
        return {**self.session, "messages": self.messages}


def show_session(store: Store, session_id: str, show_all: bool = False) -> SessionView:
    """One session by id or unique prefix, with its messages in order."""
    meta = store.session(session_id)
    if meta is None:
        raise NotFound(f"no session {session_id!r}; `memory sessions` lists them")
    messages = store.session_messages(meta["session_id"])
    return SessionView(with_notes(store, [meta])[0], messages, visible(messages, show_all))


@dataclass
class RunList:
    runs: list[Run]

    def to_json(self) -> list[Run]:
        return self.runs


def runs(store: Store, limit: int = 20) -> RunList:
    return RunList(store.runs(limit))


@dataclass
class RunErrors:
    run_id: int
    errors: list[RunError]

    def to_json(self) -> list[RunError]:
        return self.errors


def run_errors(store: Store, run_id: int | None = None, limit: int = 50) -> RunErrors:
    """The bad records of a run (default: the latest; 0 when there is none)."""
    if run_id is None:
        latest = store.runs(1)
        run_id = latest[0]["run_id"] if latest else 0
    return RunErrors(run_id, store.run_errors(run_id, limit))


@dataclass
class DoctorResult:
    problems: list[str]  # the store's own integrity
    sources: list[str] = field(default_factory=list)  # files to look at, each a sentence
    search: dict[str, Any] | None = None  # the embedding model in use (vectors.semantic_status)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        out = {"ok": self.ok, "store": self.problems, "sources": self.sources}
        return out if self.search is None else {**out, "search": self.search}


def doctor(store: Store, settings: Settings | None = None) -> DoctorResult:
    """The store's integrity, and source files that are unreadable or had bad records; with
    `settings`, which embedding model semantic search uses."""
    from ..search.vectors import semantic_status

    result = DoctorResult(store.check(),
                          search=semantic_status(store, settings.search.model) if settings else None)
    for f in store.files():
        path = os.path.join(f["root"], f["path"])
        if f["missing_since"]:
            continue
        if f["kind"] not in ("unknown", "not_read") and not f["path"].endswith("/") \
                and not os.access(path, os.R_OK):
            result.sources.append(f"unreadable: {path} (check its permissions)")
        elif f["errors"]:
            result.sources.append(f"bad records at last read: {path} ({f['errors']}; {f['last_error']})")
    return result


def annotate(store: Store, session_id: str, title: str | None, tags: list[str] | None,
             by: str | None = None, submodule: str | None = None) -> dict[str, Any]:
    """Set a session's title and/or tags (kept apart from what ingest derives, so the next
    ingest keeps them); `by` and `submodule` record who did it."""
    import time

    now = int(time.time() * 1000)
    tags = sorted({t.strip() for t in tags if t.strip()}) if tags is not None else None
    note = store.put_session_note(session_id, title, tags, by, submodule, now)
    store.record_write(by, submodule, "patch-session", session_id, now)
    return {"session_id": session_id, **note}
