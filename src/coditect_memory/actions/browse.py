"""Reading the store: status, sessions, one session, runs, a run's bad records, doctor."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotFound
from ..store import Store
from ..store.base import Message, Run, RunError, Session, Status

# Bookkeeping lines a person does not read; `show session --all` shows them.
HIDDEN_TYPES = frozenset({"progress", "file-history-snapshot", "queue-operation", "last-prompt",
                          "permission-mode", "agent-setting", "turn_duration"})


@dataclass
class StatusResult:
    status: Status

    def to_json(self) -> Status:
        return self.status


def status(store: Store) -> StatusResult:
    return StatusResult(store.status())


@dataclass
class SessionList:
    sessions: list[Session]

    def to_json(self) -> list[Session]:
        return self.sessions


def sessions(store: Store, project: str | None = None, limit: int = 50) -> SessionList:
    return SessionList(store.sessions(project, limit))


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
    return SessionView(meta, messages, visible(messages, show_all))


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

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "store": self.problems, "sources": self.sources}


def doctor(store: Store) -> DoctorResult:
    """The store's integrity, and source files that are unreadable or had bad records."""
    result = DoctorResult(store.check())
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
