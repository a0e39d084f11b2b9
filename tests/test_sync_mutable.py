"""Sync of mutable records (issue 17 item 4) on each backend: a server store and two machines'
stores, the server's side called in-process (sync/mutable_server.py, what the routes run;
tests/test_sync_mutable_e2e.py goes through a real `memory serve`).

Central wins by default; the losing local version is kept as a conflict and can be re-applied;
equal values never conflict; a push or pull repeated changes nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from coditect_memory.actions import browse, memories, privacy, sync_conflicts
from coditect_memory.errors import NotFound
from coditect_memory.settings import Settings, load_settings
from coditect_memory.store import Store, open_store
from coditect_memory.sync import mutable
from coditect_memory.sync.mutable_merge import pull_rule
from coditect_memory.sync.mutable_server import serve_pull, serve_push

from .builders import CWD, conversation, sid, transcript_path, write_jsonl

OTHER = "/home/dev/other"


class InProcess:
    """The sync client's two calls, answered by the server's functions on `server`."""

    def __init__(self, server: Store, machine: str, visible: frozenset[str] | None = None) -> None:
        self.server, self.machine_id, self.visible = server, machine, visible
        self.calls = 0

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert path == "mutable/push"
        self.calls += 1
        return serve_push(self.server, body["records"], self.machine_id, self.visible)

    def get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        assert path == "mutable/pull"
        self.calls += 1
        return serve_pull(self.server, int(params["after"]), int(params["limit"]),
                          self.machine_id, self.visible)


@pytest.fixture
def claude(tmp_path) -> Path:
    """Two sessions of two projects."""
    root = tmp_path / "claude"
    write_jsonl(transcript_path(root, sid(1)), conversation(sid(1), 6))
    write_jsonl(transcript_path(root, sid(2), "-home-dev-other"), conversation(sid(2), 4, cwd=OTHER))
    return root


@pytest.fixture
def machines(backend, tmp_path, request, claude) -> Iterator[dict[str, tuple[Store, Settings]]]:
    """server, a, b: three stores of the backend (with their settings), each with the sessions."""
    from coditect_memory.actions.ingest import ingest

    opened = {}
    for name in ("server", "a", "b"):
        settings = load_settings(tmp_path / name)
        if backend == "postgresql":
            settings = replace(settings, database_url=request.getfixturevalue("pg_server").database())
        store = open_store(settings)
        ingest(store, settings, claude)
        opened[name] = (store, settings)
    try:
        yield opened
    finally:
        for s, _ in opened.values():
            s.close()


@pytest.fixture
def trio(machines) -> tuple[Store, Store, Store]:
    return machines["server"][0], machines["a"][0], machines["b"][0]


def sync(store: Store, client: InProcess) -> tuple[dict[str, int], dict[str, int]]:
    return mutable.push_mutable(client, store), mutable.pull_mutable(client, store)


def title(store: Store, session: str) -> str | None:
    note = store.session_notes([session]).get(session)
    return note["title"] if note else None


def test_same_title_edited_on_two_machines_central_wins_and_the_loser_is_kept(trio):
    server, a, b = trio
    ca, cb = InProcess(server, "a"), InProcess(server, "b")
    browse.annotate(a, sid(1), "title from a", ["x"])
    browse.annotate(b, sid(1), "title from b", None)
    assert mutable.mutable_status(a) == {"pending": 1, "conflicts": 0}

    assert mutable.push_mutable(ca, a) == {"sent": 1, "accepted": 1, "conflicts": 0}
    assert mutable.push_mutable(cb, b) == {"sent": 1, "accepted": 0, "conflicts": 1}
    for store, client in ((a, ca), (b, cb)):
        mutable.pull_mutable(client, store)
    assert title(server, sid(1)) == title(a, sid(1)) == title(b, sid(1)) == "title from a"
    assert b.session_notes([sid(1)])[sid(1)]["tags"] == ["x"]
    assert mutable.mutable_status(b) == {"pending": 0, "conflicts": 1}
    assert mutable.mutable_status(a) == {"pending": 0, "conflicts": 0}

    listed = sync_conflicts.list_conflicts(b).to_json()
    assert len(listed) == 1
    c = listed[0]
    assert (c["kind"], c["key"], c["central_machine"]) == ("note", sid(1), "a")
    assert c["local"] == {"title": "title from b", "tags": []}
    assert c["central"]["title"] == "title from a"

    # re-applied: the local value again, pushed on the revision it lost to, so it wins
    sync_conflicts.reapply(b, c["id"])
    assert title(b, sid(1)) == "title from b"
    assert mutable.mutable_status(b) == {"pending": 1, "conflicts": 0}
    assert mutable.push_mutable(cb, b) == {"sent": 1, "accepted": 1, "conflicts": 0}
    assert mutable.pull_mutable(ca, a)["applied"] == 1
    assert title(server, sid(1)) == title(a, sid(1)) == title(b, sid(1)) == "title from b"
    assert mutable.mutable_status(a) == mutable.mutable_status(b) == {"pending": 0, "conflicts": 0}


def test_pull_over_a_local_change_keeps_it_as_a_conflict_and_dismiss_drops_it(trio):
    server, a, b = trio
    ca, cb = InProcess(server, "a"), InProcess(server, "b")
    browse.annotate(a, sid(2), "a's", None)
    mutable.push_mutable(ca, a)
    browse.annotate(b, sid(2), "b's, not pushed yet", None)
    got = mutable.pull_mutable(cb, b)
    assert got == {"received": 1, "applied": 0, "conflicts": 1}
    assert title(b, sid(2)) == "a's"
    [c] = b.mutable_conflicts()
    assert c.local == {"title": "b's, not pushed yet", "tags": []}
    assert mutable.mutable_status(b)["pending"] == 0  # central adopted: nothing to push
    sync_conflicts.dismiss(b, c.id)
    assert b.mutable_conflicts() == []
    with pytest.raises(NotFound):
        sync_conflicts.dismiss(b, c.id)
    with pytest.raises(NotFound):
        sync_conflicts.reapply(b, 999)


def test_pushing_or_pulling_again_changes_nothing(trio):
    server, a, b = trio
    ca, cb = InProcess(server, "a"), InProcess(server, "b")
    browse.annotate(a, sid(1), "once", ["t"])
    privacy.set_level(a, "project", OTHER, "TEAM")
    sync(a, ca)
    sync(b, cb)
    log = server.mutable_log_since(0, 100, None, None)[0]
    assert {(c.kind, c.key, c.revision) for c in log} == {("note", sid(1), 1), ("level", f"project:{OTHER}", 1)}
    assert sync(a, ca) == ({"sent": 0, "accepted": 0, "conflicts": 0},
                           {"received": 0, "applied": 0, "conflicts": 0})
    assert sync(b, cb)[0]["sent"] == 0
    # the same push replayed (an answer lost on the way): the server keeps revision 1
    rec = {"kind": "note", "key": sid(1), "base": 0, "value": {"title": "once", "tags": ["t"]}}
    [res] = serve_push(server, [rec], "a", None)["results"]
    assert (res["status"], res["revision"]) == ("same", 1)
    assert server.mutable_log_since(0, 100, None, None)[0] == log
    # a pull replayed from the start (a crash before the cursor was kept) applies nothing
    got = b.mutable_settle([(c, None) for c in log], pull_rule, cursor=0)
    assert got["apply"] == got["conflict"] == 0
    assert b.mutable_conflicts() == []


def test_privacy_level_reaches_the_other_machine(trio):
    server, a, b = trio
    privacy.set_level(a, "session", sid(1), "EPHEMERAL")
    privacy.set_level(a, "project", CWD, "PUBLIC")
    assert mutable.push_mutable(InProcess(server, "a"), a)["accepted"] == 2
    assert mutable.pull_mutable(InProcess(server, "b"), b) == {"received": 2, "applied": 2, "conflicts": 0}
    assert sorted(b.privacy_levels()) == [("project", CWD, "PUBLIC"), ("session", sid(1), "EPHEMERAL")]
    assert sorted(server.privacy_levels()) == sorted(b.privacy_levels())


def test_an_ephemeral_sessions_title_never_leaves(trio):
    server, a, _ = trio
    privacy.set_level(a, "session", sid(1), "EPHEMERAL")
    browse.annotate(a, sid(1), "secret plans", None)
    browse.annotate(a, sid(2), "fine to share", None)
    mutable.push_mutable(InProcess(server, "a"), a)
    assert title(server, sid(1)) is None
    assert title(server, sid(2)) == "fine to share"


def _memory(store: Store, text: str) -> dict[str, Any] | None:
    found = [m for m in store.memories(memories.MemoryFilter(statuses=memories.STATUSES, limit=1000))
             if m["text"] == text]
    return found[0] if found else None


def test_memory_added_edited_and_deleted_on_one_machine_reaches_the_other(trio):
    server, a, b = trio
    ca, cb = InProcess(server, "a"), InProcess(server, "b")
    added = memories.add(a, memories.AddRequest("use orjson for every JSON dump", "decision",
                                                project=CWD)).memory
    mutable.push_mutable(ca, a)
    assert mutable.pull_mutable(cb, b)["applied"] == 1
    on_b = _memory(b, "use orjson for every JSON dump")
    assert on_b is not None and on_b["project"] == CWD and on_b["type"] == "decision"

    memories.edit(a, memories.EditRequest(added["id"], text="use orjson for JSON, always", pinned=True))
    sync(a, ca)
    sync(b, cb)
    assert _memory(b, "use orjson for every JSON dump") is None
    edited = _memory(b, "use orjson for JSON, always")
    assert edited is not None and edited["pinned"] and edited["id"] == on_b["id"]

    memories.edit(a, memories.EditRequest(added["id"], status="forgotten"))
    sync(a, ca)
    sync(b, cb)
    gone = _memory(b, "use orjson for JSON, always")
    assert gone is not None and gone["status"] == "forgotten"
    assert mutable.mutable_status(b) == mutable.mutable_status(a) == {"pending": 0, "conflicts": 0}


def test_an_extracted_memory_edited_on_one_machine_updates_the_others_copy(trio):
    """Both machines hold the same memory (as extraction makes it); one edits it: the other's
    copy changes, no second memory appears."""
    server, a, b = trio
    ids = {}
    for store in (a, b):
        ids[store] = memories.add(store, memories.AddRequest("run tests with pytest -q", "fact",
                                                             project=OTHER)).memory["id"]
    # both said it first: the same identity, and the same value, so no conflict
    assert sync(a, InProcess(server, "a"))[0]["accepted"] == 1
    assert sync(b, InProcess(server, "b"))[0] == {"sent": 1, "accepted": 1, "conflicts": 0}
    memories.edit(b, memories.EditRequest(ids[b], text="run the tests with pytest -q -x"))
    sync(b, InProcess(server, "b"))
    sync(a, InProcess(server, "a"))
    assert _memory(a, "run tests with pytest -q") is None
    assert (_memory(a, "run the tests with pytest -q -x") or {}).get("id") == ids[a]


def test_memory_of_a_project_unknown_here_waits_until_it_arrives(machines, tmp_path):
    from coditect_memory.actions.ingest import ingest

    (server, _), (a, a_settings), (b, b_settings) = machines.values()
    root = tmp_path / "later"
    write_jsonl(transcript_path(root, sid(9), "-home-dev-later"),
                conversation(sid(9), 2, cwd="/home/dev/later"))
    ingest(a, a_settings, root)
    memories.add(a, memories.AddRequest("later is a new project", "fact", project="/home/dev/later"))
    mutable.push_mutable(InProcess(server, "a"), a)
    got = mutable.pull_mutable(InProcess(server, "b"), b)
    assert got["applied"] == 0 and _memory(b, "later is a new project") is None
    ingest(b, b_settings, root)
    mutable.pull_mutable(InProcess(server, "b"), b)
    assert (_memory(b, "later is a new project") or {}).get("project") == "/home/dev/later"
    assert mutable.mutable_status(b) == {"pending": 0, "conflicts": 0}


def test_changes_made_on_the_server_enter_its_log(trio):
    server, a, _ = trio
    browse.annotate(server, sid(1), "set on the server", None)
    privacy.set_level(server, "project", OTHER, "TEAM")
    got = mutable.pull_mutable(InProcess(server, "a"), a)
    assert got == {"received": 2, "applied": 2, "conflicts": 0}
    assert title(a, sid(1)) == "set on the server"
    log = {c.key: c for c in server.mutable_log_since(0, 100, None, None)[0]}
    assert log[sid(1)].machine == "server"
    # the server's own change wins over a machine that changed the same title meanwhile
    browse.annotate(a, sid(1), "a's later", None)
    browse.annotate(server, sid(1), "the server's later", None)
    assert mutable.push_mutable(InProcess(server, "a"), a)["conflicts"] == 1
    assert title(a, sid(1)) == "the server's later"


def test_a_token_scoped_to_submodules_sees_and_writes_only_its_projects(trio):
    server, a, b = trio
    browse.annotate(a, sid(1), "webapp title", None)
    browse.annotate(a, sid(2), "other title", None)
    scoped = InProcess(server, "a", visible=frozenset({OTHER}))
    assert mutable.push_mutable(scoped, a) == {"sent": 2, "accepted": 1, "conflicts": 0}
    assert title(server, sid(1)) is None and title(server, sid(2)) == "other title"
    assert mutable.mutable_status(a)["pending"] == 1  # refused: stays pending
    browse.annotate(server, sid(1), "webapp, set on the server", None)
    got = mutable.pull_mutable(InProcess(server, "b", visible=frozenset({OTHER})), b)
    assert got["received"] == 1 and title(b, sid(1)) is None and title(b, sid(2)) == "other title"


def test_conflicts_command_lists_reapplies_and_dismisses(machines, monkeypatch):
    """`memory sync conflicts [--json] [--reapply ID] [--dismiss ID]` on machine b's store."""
    from .conftest import run, run_proc

    (server, _), (a, _), (b, b_settings) = machines.values()
    browse.annotate(a, sid(1), "from a", None)
    browse.annotate(b, sid(1), "from b", None)
    mutable.push_mutable(InProcess(server, "a"), a)
    mutable.push_mutable(InProcess(server, "b"), b)
    monkeypatch.setenv("MEMORY_HOME", str(b_settings.home))
    if b_settings.database_url:
        monkeypatch.setenv("MEMORY_DATABASE_URL", b_settings.database_url)
    [c] = run("sync", "conflicts", "--json").json()
    assert c["local"]["title"] == "from b" and c["central"]["title"] == "from a"
    shown = run("sync", "conflicts").stdout
    assert "from b" in shown and "from a" in shown and f"{c['id']}" in shown
    out = run("sync", "conflicts", "--reapply", str(c["id"]), "--json").json()
    assert out["reapplied"]["id"] == c["id"]
    assert title(b, sid(1)) == "from b"
    assert run("sync", "conflicts", "--json").json() == []
    bad = run_proc("sync", "conflicts", "--dismiss", "12345")
    assert bad.code == 4 and "memory sync conflicts" in bad.stderr and "Traceback" not in bad.stderr
