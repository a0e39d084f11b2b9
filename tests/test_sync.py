"""memory sync beyond the contract: forget travels as tombstones, PRIVATE and EPHEMERAL never
leave a machine, tokens scoped to submodules, errors in one line, the server's registry and
manifest, status and schedule. Real `memory serve` processes on loopback."""

from __future__ import annotations

import pytest

from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite.packing import uuid_sql

from .sync_support import (
    SyncServer,
    hashes,
    machine,
    memory,
    memory_proc,
    on_database,
    sample,
    share,
)


@pytest.fixture
def team(tmp_path):
    """Two machines (one transcript on both) linked to a fresh server on SQLite."""
    ra, rb = sample(tmp_path, 1, sessions=2), sample(tmp_path, 2, sessions=2)
    shared = share(ra, rb)
    a, b = machine(tmp_path, "a", ra), machine(tmp_path, "b", rb)
    srv = SyncServer(tmp_path / "server").start()
    tok = srv.token()
    for home in (a, b):
        memory(home, "sync", "init", "--server", srv.url, "--token", tok)
    try:
        yield srv, a, b, shared.stem
    finally:
        srv.stop()


def _json(home, *args):
    return memory(home, *args, "--json").json()


@pytest.mark.parametrize("server_backend", ["sqlite", "postgresql"])
def test_forget_on_one_machine_is_forget_everywhere(tmp_path, request, server_backend):
    url = request.getfixturevalue("pg_server").database() if server_backend == "postgresql" else ""
    ra, rb = sample(tmp_path, 1, sessions=2), sample(tmp_path, 2, sessions=2)
    sid = share(ra, rb).stem  # the shared transcript's session: on both machines
    a, b = machine(tmp_path, "a", ra), machine(tmp_path, "b", rb)
    srv = SyncServer(tmp_path / "server", url).start()
    try:
        tok = srv.token(name="alice-laptop")
        for home in (a, b):
            memory(home, "sync", "init", "--server", srv.url, "--token", tok)
            _json(home, "sync", "push")
        _json(a, "sync", "pull")
        gone = {u for u, _ in hashes(a).items()} - set(hashes(b))  # a's own, not on b yet
        forgotten = _json(a, "forget", "--session", sid, "--yes")
        assert forgotten["messages"] > 0
        st = _json(a, "sync", "status")
        assert st["tombstones_pending"] == forgotten["messages"]
        assert _json(a, "sync", "push")["tombstones"] == forgotten["messages"]
        with on_database(url), open_store(load_settings(srv.home), readonly=True) as s:
            assert not s.session(sid)  # forgotten on the server, audited under the token's name
            assert any(r.actor == "alice-laptop" and r.action == "forget" for r in s.audit_rows())
        pulled = _json(b, "sync", "pull")
        # b has its own copy of the session's transcript (not a's other files of it)
        assert pulled["tombstones"] == forgotten["messages"] and pulled["forgotten"] > 0
        assert sid not in _sessions(b, "") and _sessions(b, "")  # b keeps the rest
        # b captured that transcript itself: re-ingesting it, or pushing, brings nothing back
        memory(b, "ingest", str(rb), "--json")
        _json(b, "sync", "push")
        assert sid not in _sessions(srv.home, url)
        assert sid not in _sessions(b, "")
        assert gone  # (a's other rows reached b)
    finally:
        srv.stop()


def _sessions(home, url):
    with on_database(url), open_store(load_settings(home), readonly=True) as s:
        return [x["session_id"] for x in s.sessions(limit=1000)]


def test_private_and_ephemeral_rows_never_leave_the_machine(team):
    srv, a, _, _ = team
    with open_store(load_settings(a), readonly=True) as s:
        projects = sorted({d["project"] for d in s.export_messages() if d["project"]})
    assert len(projects) >= 2
    memory(a, "privacy", "set", projects[0], "EPHEMERAL")
    memory(a, "privacy", "set", projects[1], "PRIVATE")
    pushed = _json(a, "sync", "push")
    assert pushed["held_back"] > 0
    with open_store(load_settings(srv.home), readonly=True) as s:
        on_server = {d["project"] for d in s.export_messages()}
    assert not on_server & set(projects[:2])
    assert _json(a, "sync", "status")["pending"] == 0  # judged, not left waiting


def test_a_token_scoped_to_submodules_pushes_only_as_one_of_them(tmp_path):
    srv = SyncServer(tmp_path / "server")
    memory(srv.home, "submodule", "add", "work", "--path", "/home/dev/work")
    tok = srv.token("write", "work")
    srv.start()
    try:
        home = machine(tmp_path, "a", sample(tmp_path, 1, sessions=1))
        refused = memory_proc(home, "sync", "init", "--server", srv.url, "--token", tok,
                              "--submodule", "billing")
        assert refused.code == 19 and "Traceback" not in refused.stderr
        assert "work" in refused.stderr
        assert _json(home, "sync", "status")["configured"] is False  # nothing saved
        linked = _json(home, "sync", "init", "--server", srv.url, "--token", tok, "--submodule", "work")
        assert linked["submodule"] == "work"
        assert _json(home, "sync", "push")["messages"] > 0
    finally:
        srv.stop()


def test_bad_token_and_no_server_are_one_line_errors(tmp_path):
    home = machine(tmp_path, "a", sample(tmp_path, 1, sessions=1))
    srv = SyncServer(tmp_path / "server").start()
    try:
        bad = memory_proc(home, "sync", "init", "--server", srv.url, "--token", "not-a-token")
        assert bad.code == 18 and len(bad.stderr.strip().splitlines()) == 1
    finally:
        srv.stop()
    down = memory_proc(home, "sync", "init", "--server", srv.url, "--token", "x")
    assert down.code == 20 and "Traceback" not in down.stderr
    assert memory_proc(home, "sync", "push").code == 2  # not linked: says to run init
    assert memory_proc(home, "sync", "init", "--server", "memory.example", "--token", "x").code == 2


def test_the_server_keeps_a_registry_and_no_manifest_rows_of_its_own(team):
    srv, a, b, _ = team
    for home in (a, b):
        _json(home, "sync", "run")
    with open_store(load_settings(srv.home), readonly=True) as s:
        machines = s.sync_machines()
        assert all(s.manifest(f"sync:{m['id']}") == {} for m in machines)  # no temp-file rows
        assert {r["root"] for r in s.runs(50) if r["format"] == "sync"} == {f"sync:{m['id']}" for m in machines}
    assert len(machines) == 2 and all(m["rows_received"] > 0 for m in machines)
    assert all(m["last_push_at"] and m["last_pull_at"] and m["token_name"] == "sync" for m in machines)
    listed = _json(srv.home, "submodule", "list", "--machines")
    assert {m["id"] for m in listed} == {m["id"] for m in machines}
    assert "last push" in memory(srv.home, "submodule", "list").stdout


def test_status_warns_when_rows_wait_too_long(team):
    srv, a, _, _ = team
    srv.stop()
    assert memory_proc(a, "sync", "push").code == 20
    later = memory(a, "sync", "status", "--json", env={"MEMORY_SYNC_CLOCK_SKEW": str(3 * 86400)}).json()
    assert later["pending"] > 0 and "waited" in later["warning"]
    assert "sync" in memory(a, "status", env={"MEMORY_SYNC_CLOCK_SKEW": str(3 * 86400)}).stdout.lower()


def test_schedule_prints_a_cron_line(tmp_path):
    out = memory(tmp_path / "h", "sync", "schedule", "--every", "15m", "--json").json()
    assert out["cron"].startswith("*/15 * * * *") and "sync run" in out["cron"]


def test_a_scoped_token_pulls_only_its_submodules(tmp_path):
    from .api_support import SUBMODULES

    srv = SyncServer(tmp_path / "server")
    for name, paths in SUBMODULES.items():
        memory(srv.home, "submodule", "add", name, *[x for p in paths for x in ("--path", p)])
    full, scoped = srv.token("write", name="all"), srv.token("read", "src", name="src-reader")
    srv.start()
    try:
        a = machine(tmp_path, "a", sample(tmp_path, 1, sessions=4))
        b = machine(tmp_path, "b", sample(tmp_path, 2, sessions=1))
        memory(a, "sync", "init", "--server", srv.url, "--token", full)
        assert _json(a, "sync", "push")["messages"] > 0
        before = set(hashes(b))
        memory(b, "sync", "init", "--server", srv.url, "--token", scoped, "--submodule", "src")
        assert _json(b, "sync", "pull")["messages"] > 0
        with open_store(load_settings(b), readonly=True) as s:
            pulled = [d["project"] for d in s.export_messages() if d["uid"] not in before]
        prefixes = tuple(p + "/" for p in SUBMODULES["src"]) + tuple(SUBMODULES["src"])
        assert pulled and all(p and p.startswith(prefixes) for p in pulled)
        refused = memory_proc(b, "sync", "push")  # a read token: pulls, never pushes
        assert refused.code == 19 and "Traceback" not in refused.stderr
    finally:
        srv.stop()


def test_run_once_says_why_it_failed_and_exits_with_its_code(team):
    srv, a, _, _ = team
    assert memory(a, "sync", "run", "--json").json()["error"] is None
    srv.stop()
    down = memory_proc(a, "sync", "run", "--json")
    assert down.code == 20 and "did not answer" in down.json()["error"]


def test_captures_after_forgetting_the_newest_rows_are_still_pushed(team, tmp_path):
    """SQLite reuses the ids of deleted newest rows: what a machine captures after forgetting
    its newest session gets ids at or below the push cursor, and must still reach the server."""
    import sqlite3

    srv, a, _, _ = team
    # the newest rows, all of one session: a transcript ingested on its own (the last rows of
    # a whole folder's ingest may have no session: shell snapshots, whichever batch ends it)
    newest = next(p for p in sorted(sample(tmp_path, 4, sessions=1).glob("projects/*/*.jsonl"))
                  if not p.stem.startswith("agent-"))  # named by its session id
    memory(a, "ingest", str(newest), "--json")
    _json(a, "sync", "push")
    cursor = _json(a, "sync", "status")["push_cursor"]
    _json(a, "forget", "--session", newest.stem, "--yes")
    with sqlite3.connect(a / "memory.db") as db:
        left = db.execute("SELECT max(id) FROM messages").fetchone()[0]
    memory(a, "ingest", str(sample(tmp_path, 3, sessions=2)), "--json")
    with sqlite3.connect(a / "memory.db") as db:
        reused = db.execute("SELECT count(*) FROM messages WHERE id > ? AND id <= ?",
                            (left, cursor)).fetchone()[0]
    assert reused > 0  # the case this is about: new captures below the old cursor
    _json(a, "sync", "push")
    assert _json(a, "sync", "status")["pending"] == 0
    assert set(hashes(a)) <= set(srv.hashes())


def test_rows_pushed_after_the_server_forgot_its_newest_are_still_pulled(team, tmp_path):
    """The server side of the same SQLite id reuse: after the server forgets its newest rows,
    rows pushed next get ids at or below another machine's pull cursor; that machine's next
    pull must still bring them (it starts again from the floor the forget left)."""
    import sqlite3

    srv, a, b, _ = team
    for home in (a, b):
        _json(home, "sync", "push")
    _json(b, "sync", "pull")
    cursor = _json(b, "sync", "status")["pull_cursor"]
    db_path = srv.home / "memory.db"
    with sqlite3.connect(db_path) as db:
        newest = db.execute(f"SELECT {uuid_sql('session_id')} FROM messages WHERE session_id IS NOT NULL"
                            " ORDER BY id DESC LIMIT 1").fetchone()[0]
    memory(srv.home, "forget", "--session", newest, "--yes", "--json")
    with sqlite3.connect(db_path) as db:
        left = db.execute("SELECT max(id) FROM messages").fetchone()[0]
    memory(a, "ingest", str(sample(tmp_path, 3, sessions=2)), "--json")
    _json(a, "sync", "push")
    with sqlite3.connect(db_path) as db:
        reused = db.execute("SELECT count(*) FROM messages WHERE id > ? AND id <= ?",
                            (left, cursor)).fetchone()[0]
    assert reused > 0  # the case this is about: new rows below b's cursor
    _json(b, "sync", "pull")
    assert set(srv.hashes()) <= set(hashes(b))
    again = _json(b, "sync", "pull")  # the floor is taken into account once
    assert again["messages"] == 0


def test_rows_held_back_go_once_their_level_lets_them(team):
    """A PRIVATE project's rows are passed by the push cursor unsent; made TEAM later, the
    next push sends them (and only them), and a push after that sends nothing."""
    srv, a, _, _ = team
    with open_store(load_settings(a), readonly=True) as s:
        rows = list(s.export_messages())
    project = sorted({d["project"] for d in rows if d["project"]})[0]
    mine = {d["uid"] for d in rows if d["project"] == project}
    memory(a, "privacy", "set", project, "PRIVATE")
    first = _json(a, "sync", "push")
    assert first["held_back"] == len(mine) and not mine & set(srv.hashes())
    assert _json(a, "sync", "push")["released"] == 0  # levels unchanged: still held
    memory(a, "privacy", "set", project, "TEAM")
    said = memory(a, "sync", "push").stdout  # the terminal view says it too
    assert f"pushed {len(mine):,} messages" in said
    assert f"{len(mine):,} held back before, sent now that their level allows" in said
    assert "; 0 private or ephemeral kept here" in said
    assert mine <= set(srv.hashes())
    last = _json(a, "sync", "push")
    assert last["released"] == last["messages"] == 0


def test_init_with_another_server_starts_every_cursor_again(team, tmp_path):
    """Linked to a new server, a machine sends it everything again: its messages, its
    forgets and its titles (which the old server had acknowledged), and pulls from 0."""
    from coditect_memory.actions import browse

    srv, a, _, _ = team
    with open_store(load_settings(a)) as s:
        sid, gone = (x["session_id"] for x in s.sessions(limit=2))
        browse.annotate(s, sid, "a title the old server has", ["x"])
    forgotten = _json(a, "forget", "--session", gone, "--yes")["messages"]
    pushed = _json(a, "sync", "push")
    assert pushed["tombstones"] == forgotten and pushed["mutable"]["accepted"] >= 1
    assert _json(a, "sync", "status")["mutable"]["pending"] == 0
    other = SyncServer(tmp_path / "other").start()
    try:
        memory(a, "sync", "init", "--server", other.url, "--token", other.token())
        st = _json(a, "sync", "status")
        assert st["push_cursor"] == st["pull_cursor"] == 0 and st["tombstones_pending"] == forgotten
        assert st["mutable"]["pending"] >= 1
        again = _json(a, "sync", "push")
        assert again["tombstones"] == forgotten and again["mutable"]["accepted"] >= 1
        assert set(hashes(a)) == set(other.hashes())
        with open_store(load_settings(other.home), readonly=True) as s:
            assert s.session_notes([sid])[sid]["title"] == "a title the old server has"
        assert _json(a, "sync", "status")["mutable"]["pending"] == 0
    finally:
        other.stop()


def test_a_push_that_left_nothing_pending_is_not_fooled_by_later_changes(team):
    """After a push leaves no title, level or memory pending, `sync status` and the next push
    skip reading them while nothing changed (a fingerprint); every kind of change is seen."""
    from coditect_memory.actions import browse

    srv, a, _, _ = team
    _json(a, "sync", "push")
    with open_store(load_settings(a), readonly=True) as s:
        sid, project = (s.sessions(limit=1)[0][k] for k in ("session_id", "project"))
        assert s.sync_state()["mutable_digest"] is not None  # recorded: nothing pending
    added = _json(a, "memories", "add", "use uv, not pip", "-t", "preference")

    def changed(change):
        change()
        assert _json(a, "sync", "status")["mutable"]["pending"] == 1
        assert _json(a, "sync", "push")["mutable"]["accepted"] == 1
        assert _json(a, "sync", "status")["mutable"]["pending"] == 0
        assert _json(a, "sync", "push")["mutable"]["sent"] == 0

    changed(lambda: None)  # the memory added above
    with open_store(load_settings(a)) as s:
        changed(lambda: browse.annotate(s, sid, "a title", None))
        changed(lambda: browse.annotate(s, sid, "another title", None))
    changed(lambda: memory(a, "privacy", "set", project, "PUBLIC"))
    changed(lambda: memory(a, "memories", "pin", str(added["id"])))
    changed(lambda: memory(a, "memories", "edit", str(added["id"]), "--text", "use uv"))
