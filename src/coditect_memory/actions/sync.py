"""`memory sync`: this machine's store and a team's central server (`memory serve`).

init links the store to a server (the token checked at once), push sends what the server
has not acknowledged (messages after the push cursor, then tombstones, then the mutable
records of sync/mutable.py), pull brings what other machines sent after the pull cursor
through the ingest pipeline (so search, reports and the index cover it), status says what
waits. Every batch is idempotent by uid: a batch sent twice, or re-pulled after a crash,
stores nothing twice. The cursors move only after the other side has the batch.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import MemoryError_, UsageError
from ..failpoints import failpoint
from ..ingest.health import CaptureWarning
from ..ingest.pipeline import Progress
from ..privacy.levels import TEAM_AUDIENCE, visible
from ..scheduling import Schedule
from ..settings import Settings
from ..sources.base import Record
from ..store.base import Store
from ..store.protocol.sync import SyncState
from ..sync.batches import TeamView, decode, encode
from ..sync.client import SyncClient, save_token
from ..sync.mutable import mutable_status, pull_mutable, push_mutable
from ..sync.tombstones import apply as apply_tombstones
from ..timeutil import iso

PULLED_FROM = "server"  # the origin pulled rows are marked with on a machine (never pushed back)
TOMBSTONE_BATCH = 1000


def now_ms(settings: Settings) -> int:
    """This machine's clock (skewed in tests by MEMORY_SYNC_CLOCK_SKEW): only for the times
    it records; ordering is the server's ids, never a clock."""
    return int((time.time() + settings.sync.clock_skew_seconds) * 1000)


def state_of(store: Store) -> SyncState:
    state = store.sync_state()
    if state is None:
        raise UsageError("this store is not linked to a sync server: run "
                         "`memory sync init --server URL --token TOKEN`")
    return state


def _client(settings: Settings, state: SyncState, client: SyncClient | None) -> SyncClient:
    return client or SyncClient.from_state(settings, state)


# --- init ----------------------------------------------------------------------------
@dataclass(frozen=True)
class InitRequest:
    server: str
    token: str
    submodule: str | None = None


@dataclass(frozen=True)
class Linked:
    server: str
    machine_id: str
    hostname: str
    submodule: str | None
    server_messages: int
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def init(store: Store, settings: Settings, request: InitRequest) -> Linked:
    """Link this store to a server: the server and token are checked first (nothing is saved
    when either is wrong); the machine keeps its id across re-inits to the same server."""
    server = request.server.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", server):
        raise UsageError(f"--server {request.server!r}: give the server's URL, e.g. "
                         "http://memory.example:8700")
    if not request.token.strip():
        raise UsageError("--token must not be empty (`memory auth token` on the server makes one)")
    old = store.sync_state()
    same = old is not None and old["server"] == server
    machine_id = old["machine_id"] if old is not None else str(uuid.uuid4())
    hostname = socket.gethostname()
    with SyncClient(server, request.token.strip(), machine_id, hostname, request.submodule,
                    settings.sync.timeout_seconds) as client:
        info = client.get_json("status", {})
    save_token(settings, request.token)
    values: dict[str, Any] = {"server": server, "machine_id": machine_id, "hostname": hostname,
                              "submodule": request.submodule}
    if not same:  # another server: it has nothing of ours yet
        values.update(push_cursor=0, pull_cursor=0, tomb_cursor=0, floor_seq=0, pending_since=None,
                      last_push_at=None, last_push_result=None, last_pull_at=None,
                      last_pull_result=None, levels_digest=None, mutable_digest=None)
        if old is not None:
            store.sync_unlink()  # its tombstones and held rows were about the old server
            store.mutable_unlink()  # and the titles, levels and memories' revisions
    store.set_sync_state(**values)
    notes = []
    levels = {level for _, _, level in store.privacy_levels()} | {
        level for _, level in settings.privacy.levels}
    if not visible(settings.privacy.default_level, TEAM_AUDIENCE) and not any(
            visible(level, TEAM_AUDIENCE) for level in levels):
        notes.append(f"the default privacy level is {settings.privacy.default_level}: nothing is "
                     "pushed until a project is TEAM or PUBLIC (`memory privacy set PROJECT TEAM`, "
                     "or [privacy] default_level)")
    return Linked(server, machine_id, hostname, request.submodule, int(info.get("messages", 0)),
                  notes)


# --- push ----------------------------------------------------------------------------
@dataclass
class Pushed:
    messages: int = 0  # sent
    new: int = 0  # stored new on the server
    duplicates: int = 0  # the server had them already
    held_back: int = 0  # PRIVATE or EPHEMERAL: never leave this machine
    released: int = 0  # held back by an earlier push, sent now that their level lets them go
    batches: int = 0
    batch_seconds: list[float] = field(default_factory=list)
    tombstones: int = 0
    errors: int = 0  # damaged lines the server left out (in its `memory errors`)
    mutable: dict[str, Any] = field(default_factory=dict)
    cursor: int = 0

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["batch_seconds"] = [round(x, 3) for x in self.batch_seconds]
        out["seconds"] = round(sum(self.batch_seconds), 3)
        return out


def push(store: Store, settings: Settings, client: SyncClient | None = None,
         progress: Progress | None = None) -> Pushed:
    """Send what the server has not acknowledged, batch by batch; on any failure what is
    left stays queued (raises SyncUnreachable, Unauthorized, Forbidden). Rows a level keeps
    here are held (`sync_held`): a later level change that lets them go sends them."""
    state = state_of(store)
    progress = progress or Progress()
    out = Pushed(cursor=state["push_cursor"])
    top = store.max_message_id()
    try:
        with _client(settings, state, client) as c:
            progress.start(store.sync_pending(out.cursor), 0)
            view = TeamView(store, settings)
            _release_held(store, settings, c, view, state, out)
            while rows := store.sync_push_rows(out.cursor, top, settings.sync.batch_size):
                last = rows[-1]["id"]
                sent = _send(c, view, rows, out, last)
                store.sync_hold([r["id"] for r in rows if r["id"] not in sent])
                out.cursor = last
                store.set_sync_state(push_cursor=last)
                progress.advance(len(rows), len(rows))
            if out.cursor < top:  # what is left up to `top` came from a pull
                out.cursor = top
                store.set_sync_state(push_cursor=top)
            while uids := store.sync_unsent_tombstones(TOMBSTONE_BATCH):
                c.post_json("tombstones", {"uids": uids})
                store.sync_tombstones_sent(uids)
                out.tombstones += len(uids)
            out.mutable = push_mutable(c, store, settings.privacy, view.pii)
    except MemoryError_ as e:
        store.set_sync_state(last_push_at=now_ms(settings), last_push_result=f"failed: {e}",
                             pending_since=state["pending_since"] or now_ms(settings))
        raise
    finally:
        progress.finish()
    store.set_sync_state(last_push_at=now_ms(settings), pending_since=None,
                         last_push_result=f"ok: {out.messages} sent, {out.new} new")
    return out


def _send(c: SyncClient, view: TeamView, rows: list[dict[str, Any]], out: Pushed,
          last: int) -> set[int]:
    """One batch, as the team may have it; returns the ids sent (the others are held)."""
    team = view.rows(rows)
    out.held_back += len(rows) - len(team)
    if not team:
        return set()
    data, n = encode(team)
    t0 = time.monotonic()
    answer = c.post_bytes("push", {"last": last}, data)
    failpoint("sync.push.acked")  # the server has it; the cursor not moved yet
    out.batch_seconds.append(time.monotonic() - t0)
    out.batches += 1
    out.messages += n
    out.new += int(answer.get("new", 0))
    out.duplicates += int(answer.get("duplicates", 0))
    out.errors += int(answer.get("errors", 0))
    return {r["id"] for r in team}


def _release_held(store: Store, settings: Settings, c: SyncClient, view: TeamView,
                  state: SyncState, out: Pushed) -> None:
    """Send the held rows a level change since the last push lets go (nothing to look at
    while the levels are unchanged)."""
    digest = view.levels_digest()
    if state["levels_digest"] == digest:
        return
    ready = [sid for sid, project in store.sync_held_sessions()
             if visible(view.levels.level(project, sid), TEAM_AUDIENCE)]
    after, held = 0, out.held_back
    while ready and (rows := store.sync_held_rows(ready, after, settings.sync.batch_size)):
        after = rows[-1]["id"]
        sent = _send(c, view, rows, out, state["push_cursor"])
        store.sync_release(sorted(sent))
        out.released += len(sent)
    out.held_back = held  # those still held were counted by the push that held them
    store.set_sync_state(levels_digest=digest)


# --- pull ----------------------------------------------------------------------------
@dataclass
class Pulled:
    messages: int = 0  # received
    new: int = 0  # stored new here
    duplicates: int = 0
    batches: int = 0
    tombstones: int = 0  # received
    forgotten: int = 0  # rows they removed here
    mutable: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)
    cursor: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def pull(store: Store, settings: Settings, client: SyncClient | None = None,
         progress: Progress | None = None) -> Pulled:
    """Bring what other machines pushed (that this token may see) into this store, batch by
    batch: each is stored through the ingest pipeline (marked as pulled, never pushed back),
    then the cursor moves; a crash between the two re-pulls a batch that stores nothing new."""
    from ..ingest.pipeline import Ingest
    from ..search.catchup import after_ingest

    state = state_of(store)
    progress = progress or Progress()
    out = Pulled(cursor=state["pull_cursor"])
    key = f"sync:{state['server']}"
    try:
        with _client(settings, state, client) as c:
            progress.start(0, 0)
            more = True
            floor = state["floor_seq"]
            while more:
                data, headers = c.get_bytes("pull", {"after": out.cursor, "floor": floor,
                                                     "limit": settings.sync.batch_size})
                items = list(decode(data))
                uids = [r.uid for r in items if isinstance(r, Record)]
                next_cursor, more = int(headers["x-sync-next"]), headers.get("x-sync-more") == "1"
                if uids:
                    store.sync_mark_rows(uids, PULLED_FROM, None)  # first: never pushed back
                    stats = Ingest(store, settings, space_check=False).run_records(
                        key, "sync", items)
                    out.messages += len(uids)
                    out.new += stats.messages_new
                    out.duplicates += stats.duplicates
                    out.batches += 1
                    failpoint("sync.pull.stored")  # stored here; the cursor not moved yet
                    progress.advance(0, len(uids))
                out.cursor = next_cursor
                floor = int(headers.get("x-sync-floor", floor))
                store.set_sync_state(pull_cursor=next_cursor, floor_seq=floor)
            tomb = state["tomb_cursor"]
            while True:
                answer = c.get_json("tombstones", {"after": tomb, "limit": TOMBSTONE_BATCH})
                uids = [str(u) for u in answer.get("uids", [])]
                if uids:
                    out.forgotten += apply_tombstones(store, settings, uids, actor=None,
                                                      source=state["server"])
                    store.sync_tombstones_sent(uids)
                    out.tombstones += len(uids)
                tomb = int(answer.get("next", tomb))
                store.set_sync_state(tomb_cursor=tomb)
                if not answer.get("more"):
                    break
            out.mutable = pull_mutable(c, store)
    except MemoryError_ as e:
        store.set_sync_state(last_pull_at=now_ms(settings), last_pull_result=f"failed: {e}")
        raise
    finally:
        progress.finish()
    if out.new:
        out.search = after_ingest(store, settings)
    store.set_sync_state(last_pull_at=now_ms(settings),
                         last_pull_result=f"ok: {out.messages} received, {out.new} new")
    return out


# --- status --------------------------------------------------------------------------
@dataclass(frozen=True)
class SyncStatus:
    state: SyncState | None
    pending: int
    pending_since: int | None
    tombstones_pending: int
    warning: str | None
    mutable: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        s = self.state
        if s is None:
            return {"configured": False, "pending": self.pending, "warning": self.warning}
        return {
            "configured": True, "server": s["server"], "machine_id": s["machine_id"],
            "hostname": s["hostname"], "submodule": s["submodule"],
            "last_push": {"at": iso(s["last_push_at"]), "result": s["last_push_result"]},
            "last_pull": {"at": iso(s["last_pull_at"]), "result": s["last_pull_result"]},
            "pending": self.pending, "pending_since": iso(self.pending_since),
            "tombstones_pending": self.tombstones_pending, "push_cursor": s["push_cursor"],
            "pull_cursor": s["pull_cursor"], "warning": self.warning, "mutable": self.mutable}


def status(store: Store, settings: Settings) -> SyncStatus:
    """What waits to be pushed, since when, and a warning once it has waited too long."""
    state = store.sync_state()
    if state is None:
        return SyncStatus(None, 0, None, 0, None, {})
    pending = store.sync_pending(state["push_cursor"])
    tombstones = len(store.sync_unsent_tombstones(1_000_000))
    since = state["pending_since"] or (state["last_push_at"] if pending or tombstones else None)
    warning = None
    hours = settings.sync.warn_pending_hours
    if (pending or tombstones) and since is not None and now_ms(settings) - since > hours * 3_600_000:
        warning = (f"{pending:,} messages and {tombstones:,} forgets have waited since "
                   f"{iso(since)} to reach {state['server']}: check the server, then "
                   "`memory sync push`")
    return SyncStatus(state, pending, since, tombstones, warning, mutable_status(store, settings.privacy))


def sync_warnings(store: Store, settings: Settings) -> list[CaptureWarning]:
    """`memory status`'s line when rows have waited too long to be pushed."""
    if store.sync_state() is None:
        return []
    st = status(store, settings)
    return [CaptureWarning("sync-pending", f"sync: {st.warning}", st.pending)] if st.warning else []


# --- run / schedule ----------------------------------------------------------------------
@dataclass(frozen=True)
class Ran:
    at: int
    pushed: Pushed | None = None
    pulled: Pulled | None = None
    error: str | None = None
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"at": iso(self.at), "push": self.pushed.to_json() if self.pushed else None,
                "pull": self.pulled.to_json() if self.pulled else None, "error": self.error}


def run_once(store: Store, settings: Settings) -> Ran:
    """Push then pull; a failure (an unreachable server) is the result, not raised, so a
    loop goes on."""
    at = now_ms(settings)
    pushed = None
    try:
        pushed = push(store, settings)
        return Ran(at, pushed, pull(store, settings))
    except MemoryError_ as e:
        return Ran(at, pushed, None, str(e), e.exit_code)


def schedule(settings: Settings, every: str, systemd: bool, install: bool) -> Schedule:
    """`memory sync run` every N minutes (cron or a systemd timer), like `ingest schedule`."""
    from .. import scheduling as sched
    from .capture import parse_every

    minutes = parse_every(every)
    if install and not systemd:
        raise UsageError("--install writes systemd units (add --systemd); for cron, add the "
                         "printed line with `crontab -e`")
    cmd = sched.command(["sync", "run"], settings.home)
    return sched.plan(cmd, sched.When(every=minutes), "memory-sync",
                      "coditect-memory sync with the team server", settings.home / "sync.log",
                      systemd, install)
