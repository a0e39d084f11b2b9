"""Mutable records end to end: two machines' stores and a real `memory serve` process on
loopback, through sync/client.py's SyncClient (what `memory sync push|pull` use) and the
`memory sync conflicts` command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coditect_memory.actions import browse, memories, privacy
from coditect_memory.settings import load_settings
from coditect_memory.store import Store, open_store
from coditect_memory.sync.client import SyncClient
from coditect_memory.sync.mutable import mutable_status, pull_mutable, push_mutable

from .api_support import Server, bearer, sample_home, token
from .conftest import ingest_into, run


class World:
    def __init__(self, base: Path) -> None:
        self.server_home, root = sample_home(base / "server")
        self.homes = {m: base / m for m in ("a", "b")}
        for home in self.homes.values():
            ingest_into(home, root)
        self.token = token(self.server_home, "write")
        self.server = Server(self.server_home)
        self.server.wait_healthy(30)
        with self.open("server") as s:
            page, _ = s.sessions_page(None, None, 50)
        self.sessions = [(p["session_id"], p["project"]) for p in page]

    def open(self, who: str) -> Store:
        return open_store(load_settings(self.server_home if who == "server" else self.homes[who]))

    def client(self, who: str, tok: str | None = None) -> SyncClient:
        return SyncClient(self.server.url, tok or self.token, f"machine-{who}", f"host-{who}", None)

    def push(self, who: str) -> dict[str, int]:
        with self.open(who) as store, self.client(who) as c:
            return push_mutable(c, store)

    def pull(self, who: str) -> dict[str, int]:
        with self.open(who) as store, self.client(who) as c:
            return pull_mutable(c, store)

    def title(self, who: str, session: str) -> str | None:
        with self.open(who) as store:
            note = store.session_notes([session]).get(session)
        return note["title"] if note else None


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("sync-mutable"))
    try:
        yield w
    finally:
        w.server.stop()


def conflicts(home: Path, *args: str) -> Any:
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMORY_HOME", str(home))
    try:
        return run("sync", "conflicts", "--json", *args).json()
    finally:
        mp.undo()


def test_same_title_on_two_machines_converges_and_reapply_makes_the_loser_win(world):
    sid = world.sessions[0][0]
    with world.open("a") as a:
        browse.annotate(a, sid, "refactor, as machine a calls it", ["a"])
    with world.open("b") as b:
        browse.annotate(b, sid, "refactor, as machine b calls it", ["b"])
    assert world.push("a") == {"sent": 1, "accepted": 1, "conflicts": 0}
    assert world.push("b") == {"sent": 1, "accepted": 0, "conflicts": 1}
    world.pull("a")
    world.pull("b")
    first = "refactor, as machine a calls it"
    assert world.title("server", sid) == world.title("a", sid) == world.title("b", sid) == first
    assert conflicts(world.homes["a"]) == []
    [c] = conflicts(world.homes["b"])
    assert c["local"] == {"title": "refactor, as machine b calls it", "tags": ["b"]}
    assert c["central"]["title"] == first and c["central_machine"] == "machine-a"

    assert conflicts(world.homes["b"], "--reapply", str(c["id"]))["reapplied"]["id"] == c["id"]
    assert world.push("b") == {"sent": 1, "accepted": 1, "conflicts": 0}
    assert world.pull("a")["applied"] == 1
    second = "refactor, as machine b calls it"
    assert world.title("server", sid) == world.title("a", sid) == world.title("b", sid) == second
    # the server's API shows it too
    r = httpx.get(f"{world.server.url}/api/v1/sessions/{sid}", headers=bearer(world.token))
    assert second in r.text
    for who in ("a", "b"):
        with world.open(who) as s:
            assert mutable_status(s) == {"pending": 0, "conflicts": 0}


def test_pushing_and_pulling_again_changes_nothing(world):
    sid = world.sessions[1][0]
    with world.open("a") as a:
        browse.annotate(a, sid, "pushed twice", None)
    world.push("a")
    with world.open("server") as s:
        before = s.mutable_log_since(0, 10_000, None, None)[0]
    assert world.push("a") == {"sent": 0, "accepted": 0, "conflicts": 0}
    # the same request replayed (its answer lost): the server answers "same", writes nothing
    with world.client("a") as c:
        res = c.post_json("mutable/push", {"records": [
            {"kind": "note", "key": sid, "base": 0, "value": {"title": "pushed twice", "tags": []}}]})
    assert [r["status"] for r in res["results"]] == ["same"]
    with world.open("server") as s:
        assert s.mutable_log_since(0, 10_000, None, None)[0] == before
    world.pull("b")
    assert world.pull("b") == {"received": 0, "applied": 0, "conflicts": 0}


def test_privacy_level_set_on_one_machine_reaches_the_other(world):
    sid, project = world.sessions[2]
    with world.open("a") as a:
        privacy.set_level(a, "project", project, "TEAM")
        privacy.set_level(a, "session", sid, "PUBLIC")
    assert world.push("a")["accepted"] == 2
    assert world.pull("b")["applied"] >= 2
    with world.open("b") as b:
        levels = set(b.privacy_levels())
    assert {("project", project, "TEAM"), ("session", sid, "PUBLIC")} <= levels


def _find(store: Store, text: str) -> dict[str, Any] | None:
    for m in store.memories(memories.MemoryFilter(statuses=memories.STATUSES, limit=10_000)):
        if m["text"] == text:
            return dict(m)
    return None


def test_memory_edited_then_deleted_on_one_machine_reaches_the_other(world):
    project = world.sessions[0][1]
    with world.open("a") as a:
        mid = memories.add(a, memories.AddRequest("deploys go through the staging branch",
                                                  "decision", project=project)).memory["id"]
    world.push("a")
    world.pull("b")
    with world.open("b") as b:
        assert (_find(b, "deploys go through the staging branch") or {}).get("project") == project
    with world.open("a") as a:
        memories.edit(a, memories.EditRequest(mid, text="deploys go through staging, then main",
                                              pinned=True))
    world.push("a")
    world.pull("b")
    with world.open("b") as b:
        m = _find(b, "deploys go through staging, then main")
        assert m is not None and m["pinned"] and _find(b, "deploys go through the staging branch") is None
    with world.open("a") as a:
        memories.edit(a, memories.EditRequest(mid, status="forgotten"))
    world.push("a")
    world.pull("b")
    with world.open("b") as b:
        assert (_find(b, "deploys go through staging, then main") or {}).get("status") == "forgotten"


def test_a_title_set_on_the_server_through_its_api_reaches_the_machines(world):
    sid = world.sessions[3][0]
    r = httpx.patch(f"{world.server.url}/api/v1/sessions/{sid}", headers=bearer(world.token),
                    json={"title": "named on the server"})
    assert r.status_code == 200
    world.pull("a")
    assert world.title("a", sid) == "named on the server"


def test_a_token_scoped_to_a_submodule_reads_and_writes_only_its_projects(world):
    fresh = world.sessions[4:]  # no title set by the tests above
    inside = next((s, p) for s, p in fresh if p.startswith(("/home/dev/src/", "/home/dev/oss/")))
    outside = next((s, p) for s, p in fresh if p.startswith("/home/dev/work/"))
    scoped = token(world.server_home, "write", "src")
    body = {"records": [{"kind": "note", "key": sid, "base": 0, "value": {"title": f"scoped {n}", "tags": []}}
                        for n, (sid, _) in enumerate((inside, outside))]}
    with world.client("c", scoped) as c:
        res = c.post_json("mutable/push", body)["results"]
        assert [r["status"] for r in res] == ["accept", "refused"]
        seen = c.get_json("mutable/pull", {"after": 0, "limit": 5000})["records"]
    assert {r["project"] for r in seen} <= {p for _, p in world.sessions
                                            if p.startswith(("/home/dev/src/", "/home/dev/oss/"))}
    assert world.title("server", inside[0]) == "scoped 0" and world.title("server", outside[0]) != "scoped 1"
    # a read token cannot push
    reader = token(world.server_home, "read")
    r = httpx.post(f"{world.server.url}/api/v1/sync/mutable/push?machine=x", headers=bearer(reader),
                   json={"records": []})
    assert r.status_code == 403 and "error" in r.json()
    for record in ({"kind": "nope", "key": "k", "base": 0, "value": None},
                   {"kind": "note", "key": "k", "base": 0, "value": {"title": 3, "tags": []}},
                   {"kind": "level", "key": "project:/x", "base": 0, "value": {"level": "SECRET"}},
                   {"kind": "memory", "key": "k", "base": 0, "value": {"text": "no ident"}},
                   {"kind": "note", "key": "k", "base": 2**70, "value": None}):
        bad = httpx.post(f"{world.server.url}/api/v1/sync/mutable/push?machine=x",
                         headers=bearer(world.token), json={"records": [record]})
        assert bad.status_code == 422 and "kind" in bad.json()["error"]["message"], record
    far = httpx.get(f"{world.server.url}/api/v1/sync/mutable/pull?machine=x&after={2**70}",
                    headers=bearer(world.token))
    assert far.status_code == 422


def test_a_title_leaves_the_machine_with_its_pii_masked_by_level(world):
    """As a message's text is: the team (server, other machines) gets the card number masked;
    the machine that typed it keeps it, and nothing stays pending."""
    from coditect_memory.privacy.levels import PiiRedactor

    sid = world.sessions[-1][0]
    world.pull("a")
    world.pull("b")
    typed = "refund for card 4111 1111 1111 1111, ask billing"
    with world.open("a") as a:
        browse.annotate(a, sid, typed, ["billing"])
    with world.open("a") as store, world.client("a") as c:
        assert push_mutable(c, store, pii=PiiRedactor(b"k" * 32))["accepted"] == 1
    world.pull("a")
    world.pull("b")
    central = world.title("server", sid)
    assert central and "4111 1111 1111 1111" not in central and "ask billing" in central
    assert world.title("b", sid) == central
    assert world.title("a", sid) == typed
    with world.open("a") as s:
        assert mutable_status(s)["pending"] == 0
