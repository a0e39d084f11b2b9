"""The server's side of sync (the routes in api/routes/sync.py call these): store a pushed
batch through the ingest pipeline, serve other machines' rows after a cursor, take and give
tombstones, keep the registry of machines.

Writes are serialised (the API's ingest lock, waited for: a push never answers 409 because
another push is running); reads are not held by them. Each row's origin is its first sender
(`sync_rows`): a pull leaves out what the caller itself sent."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import Forbidden, UsageError
from ..failpoints import failpoint
from ..ingest.pipeline import Ingest
from ..search.cache import SearchCache
from ..settings import Settings
from ..sources.base import Issue, Record
from ..store.base import Store
from .batches import TeamView, decode, encode
from .tombstones import apply as apply_tombstones

SERVER = "server"  # the origin of tombstones the server's own forgets made
LOCK_WAIT_SECONDS = 3600.0  # another process's ingest (a CLI run on the server): waited for
_MACHINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


@dataclass
class Writes:
    """One per app: the write lock pushes queue on, and how many wait for it, so only the
    last push of a burst brings the search index up to date (each commit costs ~0.2 s)."""

    lock: threading.Lock
    waiting: int = 0
    guard: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Sender:
    """The machine behind a request, and the token it presented."""

    machine_id: str
    hostname: str
    submodule: str | None
    token_name: str
    token_submodules: tuple[str, ...]

    def check(self, pushing: bool) -> None:
        if not _MACHINE.match(self.machine_id) or self.machine_id == SERVER:
            raise UsageError(f"machine {self.machine_id!r}: a machine id is 1-64 letters, digits, "
                             "'.', '_', ':' or '-' (`memory sync init` makes one)")
        subs = self.token_submodules
        if pushing and subs and self.submodule not in subs:
            raise Forbidden(f"this token may push only as submodule {' or '.join(subs)}, not "
                            f"{self.submodule or 'none'}: run `memory sync init --submodule "
                            f"{subs[0]}` on the machine")

    def seen(self, store: Store, **counts: int) -> None:
        store.sync_machine_seen(self.machine_id, self.hostname[:200], self.submodule,
                                self.token_name, _now(), **counts)


def _now() -> int:
    return int(time.time() * 1000)


def receive(store: Store, settings: Settings, writes: Writes, sender: Sender,
            data: bytes, cache: SearchCache | None = None) -> dict[str, Any]:
    """Store one pushed batch (idempotent by uid: a row stored before, from anyone, counts as
    a duplicate); rows forgotten on any machine are not stored again."""
    from ..search.catchup import after_ingest

    sender.check(pushing=True)
    uids: list[str] = []

    def records() -> Iterator[Record | Issue]:
        for item in decode(data):
            if isinstance(item, Record):
                uids.append(item.uid)
            yield item

    settings = replace(settings, ingest=replace(settings.ingest, lock_wait_seconds=LOCK_WAIT_SECONDS))
    with writes.guard:
        writes.waiting += 1
    with writes.lock:
        with writes.guard:
            writes.waiting -= 1
            last = writes.waiting == 0
        stats = Ingest(store, settings, space_check=False).run_records(
            f"sync:{sender.machine_id}", "sync", records())
        failpoint("sync.server.stored")  # the rows stored, their origin not yet, no answer sent
        store.sync_mark_rows(uids, sender.machine_id, sender.submodule)
        sender.seen(store, pushed=stats.messages_new)
        search = after_ingest(store, settings, cache) if last else {}
    store.record_write(sender.token_name, sender.submodule, "sync.push", str(stats.run_id), _now())
    return {"run_id": stats.run_id, "received": len(uids), "new": stats.messages_new,
            "duplicates": stats.duplicates, "errors": stats.errors,
            "notes": search.get("notes", [])}


@dataclass(frozen=True)
class Served:
    data: bytes  # zstd JSON Lines
    messages: int
    next_cursor: int
    more: bool
    floor_seq: int = 0  # the last id floor taken into account: the caller keeps it with its cursor


def serve(store: Store, settings: Settings, sender: Sender, after: int, limit: int,
          project_ids: tuple[int, ...] | None, floor_seq: int = 0) -> Served:
    """The rows after `after` this caller may see and did not send, as the team sees them;
    from an earlier id when a forget the caller has not seen (after `floor_seq`) let this
    store reuse ids."""
    sender.check(pushing=False)
    floor, floor_seq = store.sync_floor_after(floor_seq)
    if floor is not None:
        after = min(after, floor)
    top = store.max_message_id()
    rows = store.sync_serve_rows(after, limit, sender.machine_id, project_ids,
                                 sender.token_submodules)
    more = len(rows) >= limit
    # Fewer than asked: everything up to `top` was looked at (the caller's own rows skipped).
    next_cursor = rows[-1]["id"] if more else max(after, top, rows[-1]["id"] if rows else 0)
    data, n = encode(TeamView(store, settings, server=True).rows(rows))
    failpoint("sync.server.serving")  # a pull answered with nothing: the connection drops
    sender.seen(store, pulled=n)
    return Served(data, n, next_cursor, more, floor_seq)


def receive_tombstones(store: Store, settings: Settings, lock: threading.Lock, sender: Sender,
                       uids: list[str]) -> dict[str, Any]:
    """Forget these uids here too (audited under the token's name) and keep them, so no
    later push stores them again and other machines' pulls bring them."""
    sender.check(pushing=True)
    with lock:
        new = store.sync_add_tombstones(uids, sender.machine_id, _now())
        removed = apply_tombstones(store, settings, uids, actor=sender.token_name,
                                   source=sender.machine_id)
    return {"received": len(uids), "new": len(new), "messages_removed": removed}


def tombstones_after(store: Store, sender: Sender, after: int, limit: int) -> dict[str, Any]:
    """Tombstones other machines sent (or the server's own forgets made) after `after`."""
    sender.check(pushing=False)
    store.sync_adopt_tombstones(SERVER, _now())  # the server's own forgets
    rows = store.sync_tombstones_after(after, sender.machine_id, limit)
    return {"uids": [u for _, u in rows], "next": rows[-1][0] if rows else after,
            "more": len(rows) >= limit}


def status(store: Store, sender: Sender | None) -> dict[str, Any]:
    """What the server holds and who syncs with it (the caller registered if it says who)."""
    if sender is not None:
        sender.check(pushing=True)  # `sync init` learns now what it may push as
        sender.seen(store)
    counts = store.counts()
    return {"messages": counts.get("messages", 0), "sessions": counts.get("sessions", 0),
            "machines": store.sync_machines()}
