"""The Context API: /context, /memories, /patterns/search and /checkpoints answer what the
CLI's --json prints for the same question, writes are recorded and seen at once (the cache
never serves a stale pack), and a token scoped to a submodule sees only its projects'."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from dataclasses import replace

import httpx
import pytest

from coditect_memory.actions import submodules
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .api_support import Server, bearer, client, token
from .conftest import ingest_into, run
from .memeval import build
from .reliability import trial

WEB, BILL = "/home/dev/webapp", "/home/dev/billing"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A planted two-project history (webapp, billing), one submodule each, and tokens."""
    base = tmp_path_factory.mktemp("apictx")
    home = base / "home"
    home.mkdir()  # shared with submodule tokens (privacy levels)
    (home / "config.toml").write_text('[privacy]\ndefault_level = "TEAM"\n')
    ingest_into(home, build(base / "claude").root)
    with open_store(load_settings(home)) as store:
        submodules.add(store, "web", [WEB])
        submodules.add(store, "bill", [BILL])
    tokens = {"admin": token(home, "admin"), "web": token(home, "write", "web"),
              "bill": token(home, "read", "bill")}
    with client(home) as c:
        c.headers.update(bearer(tokens["admin"]))
        yield c, home, tokens


@pytest.fixture
def api(world, monkeypatch):
    """The client with an admin token, and the CLI pointed at the same home."""
    c, home, _ = world
    monkeypatch.setenv("MEMORY_HOME", str(home))
    return c


def _same_pack(got: dict, want: dict) -> None:
    """Two packs built moments apart: all but their id and time are equal."""
    for pack in (got, want):
        pack.pop("id"), pack.pop("created_at")
    assert got == want


def _no_data(r, status: int) -> None:
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and set(r.json()["error"]) == {"code", "message"}


# --- each route is the CLI ------------------------------------------------------------------

def test_context_is_the_cli_pack(api):
    r = api.get("/api/v1/context", params={"project": "webapp", "budget": 1000})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    got = r.json()
    want = run("context", "-p", "webapp", "--budget", "1000", "--json").json()
    assert got["tokens"] <= 1000 and len(got["items"]) > 5
    _same_pack(got, want)
    md = api.get("/api/v1/context", params={"project": "webapp", "budget": 1000, "format": "md"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text == run("context", "-p", "webapp", "--budget", "1000").stdout
    assert md.text.startswith("# Memory of webapp")


def test_context_by_folder_with_a_query_is_the_cli_pack(api):
    params = {"cwd": BILL + "/src/deep", "query": "event bus"}
    got = api.get("/api/v1/context", params=params).json()
    want = run("context", "--cwd", params["cwd"], "--query", "event bus", "--json").json()
    assert got["project_name"] == "billing" and any(i["section"] == "excerpt" for i in got["items"])
    _same_pack(got, want)


def test_memories_are_the_cli_list_and_show(api):
    got = api.get("/api/v1/memories", params={"project": "webapp", "type": ["decision", "preference"],
                                              "limit": 3}).json()
    want = run("memories", "list", "-p", "webapp", "-t", "decision", "-t", "preference",
               "-n", "3", "--json").json()
    assert got == want and len(got) == 3
    assert {m["type"] for m in got} <= {"decision", "preference"}
    everything = api.get("/api/v1/memories", params={"status": "all", "limit": 1000}).json()
    assert everything == run("memories", "list", "--status", "all", "-n", "1000", "--json").json()
    words = api.get("/api/v1/memories", params={"query": "pytest"}).json()
    assert words == run("memories", "list", "-q", "pytest", "--json").json() and words
    one = got[0]["id"]
    shown = api.get(f"/api/v1/memories/{one}").json()
    assert shown == run("memories", "show", str(one), "--json").json()
    assert shown["evidence"] and shown["evidence"][0]["session_id"]


def test_patterns_search_is_the_cli_search_of_memories(api):
    r = api.post("/api/v1/patterns/search", json={"query": "pytest webapp2", "limit": 10})
    assert r.status_code == 200, r.text
    want = run("memories", "list", "-t", "pattern", "-t", "error_fix", "-q", "pytest webapp2",
               "-n", "10", "--json").json()
    assert r.json() == want
    assert {m["type"] for m in want} == {"pattern", "error_fix"}
    assert {m["project"] for m in want} == {WEB}
    scoped = api.post("/api/v1/patterns/search", json={"query": "pytest", "project": "billing"}).json()
    assert scoped and {m["project"] for m in scoped} == {BILL}


def test_adding_a_memory_is_the_cli_add_and_records_the_writer(api, world):
    _, home, tokens = world
    body = {"text": "deploys go through  the staging cluster first", "project": "webapp",
            "type": "decision", "pin": True}
    r = api.post("/api/v1/memories", json=body, headers=bearer(tokens["web"]))
    assert r.status_code == 200, r.text
    got = r.json()
    want = run("memories", "add", "releases are tagged from main only", "-p", "webapp",
               "-t", "decision", "--pin", "--json").json()
    assert set(got) == set(want)
    assert got["text"] == "deploys go through the staging cluster first"
    for key in ("type", "project", "project_name", "pinned", "origin", "status", "importance"):
        assert got[key] == want[key], key
    assert api.get(f"/api/v1/memories/{got['id']}").json() == run(
        "memories", "show", str(got["id"]), "--json").json()
    with open_store(load_settings(home), readonly=True) as store:
        audit = store.db.execute("SELECT token_name, submodule, action, target FROM api_writes"  # type: ignore[attr-defined]
                                 " ORDER BY id DESC LIMIT 1").fetchone()
    assert tuple(audit) == ("test-write", "web", "add-memory", str(got["id"]))


def test_checkpoints_are_the_cli_checkpoints(api, world):
    _, home, tokens = world
    r = api.post("/api/v1/checkpoints", json={"project": "webapp", "note": "before the upgrade",
                                               "budget": 800}, headers=bearer(tokens["web"]))
    assert r.status_code == 200, r.text
    made = r.json()
    assert made["project"] == WEB and made["note"] == "before the upgrade"
    assert made["pack"]["tokens"] <= 800 and made["session_id"]
    cli = run("checkpoint", "create", "-p", "webapp", "--note", "from the CLI", "--budget", "800",
              "--json").json()
    assert set(cli) == set(made) and cli["session_id"] == made["session_id"]
    assert cli["todos"] == made["todos"]
    for cid in (made["id"], made["id"][:6], cli["id"]):
        got = api.get(f"/api/v1/checkpoints/{cid}")
        assert got.status_code == 200, (cid, got.text)
        assert got.json() == run("checkpoint", "show", cid, "--json").json()
    assert api.get(f"/api/v1/checkpoints/{made['id']}").json() == made
    listed = api.get("/api/v1/checkpoints").json()
    assert listed == run("checkpoint", "list", "--json").json()
    assert {made["id"], cli["id"]} <= {x["id"] for x in listed}
    assert api.get("/api/v1/checkpoints", params={"project": "billing"}).json() == run(
        "checkpoint", "list", "-p", "billing", "--json").json()
    with open_store(load_settings(home), readonly=True) as store:
        audit = store.db.execute("SELECT token_name, submodule, action, target FROM api_writes"  # type: ignore[attr-defined]
                                 " ORDER BY id DESC LIMIT 1").fetchone()
    assert tuple(audit) == ("test-write", "web", "create-checkpoint", made["id"])


# --- the cache is never stale ---------------------------------------------------------------

def test_a_posted_memory_is_in_the_next_pack(api):
    params = {"project": "billing", "budget": 600}
    before = api.get("/api/v1/context", params=params).json()
    assert api.get("/api/v1/context", params=params).json() == before  # the cached answer
    text = "invoices are rounded half-even, never half-up"
    r = api.post("/api/v1/memories", json={"text": text, "project": "billing", "type": "preference",
                                           "pin": True})
    assert r.status_code == 200, r.text
    after = api.get("/api/v1/context", params=params).json()
    assert text in after["markdown"] and text not in before["markdown"]
    assert any(i["memory_id"] == r.json()["id"] and i["section"] == "pinned" for i in after["items"])
    listed = api.get("/api/v1/memories", params={"project": "billing", "pinned": "true"}).json()
    assert text in [m["text"] for m in listed]


def test_writes_by_other_doors_are_seen_at_once(api):
    params = {"project": "webapp", "budget": 600, "format": "md"}
    before = api.get("/api/v1/context", params=params).text
    listed = api.get("/api/v1/checkpoints").json()
    text = "the CLI added this while the server cached its pack"
    added = run("memories", "add", text, "-p", "webapp", "--pin", "--json").json()
    assert text in api.get("/api/v1/context", params=params).text and text not in before
    run("memories", "forget", str(added["id"]))
    assert text not in api.get("/api/v1/context", params=params).text
    cp = run("checkpoint", "create", "-p", "webapp", "--json").json()
    assert [x["id"] for x in api.get("/api/v1/checkpoints").json()] == [cp["id"]] + [x["id"] for x in listed]


# --- submodules -----------------------------------------------------------------------------

def test_a_scoped_token_sees_only_its_projects(api, world):
    _, _, tokens = world
    run("memories", "add", "a note for every project: squash every merge", "-t", "preference", "--pin")
    web = bearer(tokens["web"])
    mine = api.get("/api/v1/memories", params={"status": "all", "limit": 1000}, headers=web).json()
    everything = api.get("/api/v1/memories", params={"status": "all", "limit": 1000}).json()
    assert mine and {m["project"] for m in mine} == {WEB}
    assert {None, WEB, BILL} <= {m["project"] for m in everything}  # the unscoped token's
    assert api.post("/api/v1/patterns/search", json={"query": "pytest"}, headers=web).json() == [
        m for m in api.post("/api/v1/patterns/search", json={"query": "pytest"}).json()
        if m["project"] == WEB]
    # a project-less memory reaches every submodule's pack: a scoped token neither sees nor adds one
    pack = api.get("/api/v1/context", params={"project": "webapp", "format": "md"}, headers=web).text
    assert "squash every merge" not in pack and pack.startswith("# Memory of webapp")
    assert "squash every merge" in api.get("/api/v1/context", params={"project": "webapp",
                                                                    "format": "md"}).text
    r = api.post("/api/v1/memories", json={"text": "for everyone"}, headers=web)
    _no_data(r, 403)
    run("memories", "add", "a todo of no project: rotate the signing keys", "-t", "todo")
    todos = api.post("/api/v1/checkpoints", json={"project": "webapp"}, headers=web).json()["todos"]
    assert todos and "rotate the signing keys" not in str(todos)
    assert "rotate the signing keys" in str(api.post("/api/v1/checkpoints", json={"project": "webapp"}).json())
    api.post("/api/v1/checkpoints", json={"project": "billing"})
    cps = api.get("/api/v1/checkpoints", headers=web).json()
    assert cps and {c["project"] for c in cps} == {WEB}


def test_another_submodules_things_are_404(api, world):
    _, _, tokens = world
    web = bearer(tokens["web"])
    theirs = api.get("/api/v1/memories", params={"project": "billing"}).json()[0]["id"]
    everyone = run("memories", "add", "a note of no project", "--json").json()["id"]
    cp = api.post("/api/v1/checkpoints", json={"project": "billing"}).json()
    session = cp["session_id"]
    for method, path, kw in (
            ("GET", f"/api/v1/memories/{theirs}", {}),
            ("GET", f"/api/v1/memories/{everyone}", {}),
            ("GET", "/api/v1/memories?project=billing", {}),
            ("GET", f"/api/v1/checkpoints/{cp['id']}", {}),
            ("GET", f"/api/v1/checkpoints/{cp['id'][:5]}", {}),
            ("GET", "/api/v1/checkpoints?project=billing", {}),
            ("GET", "/api/v1/context?project=billing", {}),
            ("GET", "/api/v1/context?project=" + BILL, {}),
            ("GET", f"/api/v1/context?cwd={BILL}/src", {}),
            ("POST", "/api/v1/patterns/search", {"json": {"query": "pytest", "project": "billing"}}),
            ("POST", "/api/v1/memories", {"json": {"text": "mine now", "project": "billing"}}),
            ("POST", "/api/v1/checkpoints", {"json": {"project": "billing"}}),
            ("POST", "/api/v1/checkpoints", {"json": {"session": session}}),
            ("POST", "/api/v1/checkpoints", {"json": {"project": "webapp", "session": session}})):
        r = api.request(method, path, headers=web, **kw)
        _no_data(r, 404)
        assert BILL not in r.text.replace(f"cwd={BILL}", "") or BILL in path
        assert session not in r.text or session in str(kw)
    # the other way round: the billing reader sees none of webapp
    bill = bearer(tokens["bill"])
    assert {m["project"] for m in api.get("/api/v1/memories", headers=bill).json()} == {BILL}
    assert api.get("/api/v1/context", params={"project": "webapp"}, headers=bill).status_code == 404


# --- bad input ------------------------------------------------------------------------------

def test_bad_input_is_422_in_one_line(api):
    for method, path, kw in (
            ("GET", "/api/v1/context", {}),  # neither a project nor a folder
            ("GET", "/api/v1/context?project=webapp&budget=10", {}),
            ("GET", "/api/v1/context?project=webapp&format=pdf", {}),
            ("GET", "/api/v1/memories?type=opinion", {}),
            ("GET", "/api/v1/memories?limit=0", {}),
            ("GET", "/api/v1/memories/not-a-number", {}),
            ("POST", "/api/v1/memories", {"json": {"text": ""}}),
            ("POST", "/api/v1/memories", {"json": {"text": "   "}}),
            ("POST", "/api/v1/memories", {"json": {"text": "x", "type": "opinion"}}),
            ("POST", "/api/v1/memories", {"content": b"not json"}),
            ("POST", "/api/v1/patterns/search", {"json": {}}),
            ("POST", "/api/v1/patterns/search", {"json": {"query": "x", "limit": 0}}),
            ("POST", "/api/v1/checkpoints", {"json": {}}),
            ("POST", "/api/v1/checkpoints", {"json": {"project": "webapp", "budget": 5}})):
        r = api.request(method, path, **kw)
        assert r.status_code == 422, (method, path, r.text)
        body = r.json()
        assert set(body) == {"error"} and body["error"]["code"] == "invalid"
        assert "\n" not in body["error"]["message"] and "Traceback" not in r.text
    for path in ("/api/v1/memories/999999", "/api/v1/checkpoints/cnothing",
                 "/api/v1/context?project=nowhere", "/api/v1/context?cwd=/nowhere"):
        assert api.get(path).status_code == 404, path


def test_the_routes_are_documented(api):
    spec = api.get("/api/v1/openapi.json").json()
    for path, method, model in (("/api/v1/context", "get", "PackOut"),
                                ("/api/v1/memories", "get", "MemoryOut"),
                                ("/api/v1/memories", "post", "MemoryView"),
                                ("/api/v1/memories/{memory_id}", "get", "MemoryView"),
                                ("/api/v1/patterns/search", "post", "MemoryOut"),
                                ("/api/v1/checkpoints", "get", "CheckpointRow"),
                                ("/api/v1/checkpoints", "post", "CheckpointOut"),
                                ("/api/v1/checkpoints/{checkpoint_id}", "get", "CheckpointOut")):
        op = spec["paths"][path][method]
        assert model in str(op["responses"]["200"]), (path, method)
        assert {"401", "403", "404", "422"} <= set(op["responses"])


def test_real_answers_match_their_documented_schemas(api):
    """schemathesis's random cases mostly meet a 404 here (made-up projects); these are real
    answers of every new route, checked against the OpenAPI document all the same."""
    import schemathesis
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app)
    mid = api.get("/api/v1/memories").json()[0]["id"]
    cid = api.post("/api/v1/checkpoints", json={"project": "webapp"}).json()["id"]
    cases = [("/api/v1/context", "GET", {"query": {"project": "webapp", "query": "deploy"}}),
             ("/api/v1/context", "GET", {"query": {"project": "webapp", "format": "md"}}),
             ("/api/v1/memories", "GET", {"query": {"status": "all"}}),
             ("/api/v1/memories/{memory_id}", "GET", {"path_parameters": {"memory_id": mid}}),
             ("/api/v1/memories", "POST", {"body": {"text": "checked against its schema"}}),
             ("/api/v1/patterns/search", "POST", {"body": {"query": "pytest"}}),
             ("/api/v1/checkpoints", "GET", {}),
             ("/api/v1/checkpoints/{checkpoint_id}", "GET", {"path_parameters": {"checkpoint_id": cid}}),
             ("/api/v1/checkpoints", "POST", {"body": {"cwd": BILL}})]
    for path, method, parts in cases:
        case = schema[path][method].Case(**parts)
        response = case.call(headers=dict(api.headers))
        assert response.status_code == 200, (path, response.text)
        case.validate_response(response, checks=[response_schema_conformance])


# --- faults ---------------------------------------------------------------------------------

@pytest.mark.fault("API memory write while another writer holds the store")
def test_a_write_while_the_store_is_held_is_409_and_reads_go_on(tmp_path, monkeypatch):
    """A long ingest in another process holds SQLite's write lock: a POST waits
    `lock_wait_seconds`, then says busy in one line (nothing half written); reads answer
    all along (WAL), and the same POST succeeds once the lock is gone."""
    from fastapi.testclient import TestClient

    from coditect_memory.api import create_app

    home = tmp_path / "home"
    ingest_into(home, build(tmp_path / "claude", sessions=3).root)
    settings = load_settings(home)
    settings = replace(settings, ingest=replace(settings.ingest, lock_wait_seconds=0.3))
    holder = sqlite3.connect(settings.db_path, isolation_level=None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.headers.update(bearer(token(home, "admin")))
        before = c.get("/api/v1/memories", params={"status": "all", "limit": 1000}).json()
        holder.execute("BEGIN IMMEDIATE")
        try:
            for path, body in (("/api/v1/memories", {"text": "held off", "project": "webapp"}),
                               ("/api/v1/checkpoints", {"project": "webapp"})):
                r = c.post(path, json=body)
                assert r.status_code == 409, r.text
                assert r.json()["error"]["code"] == "busy" and "\n" not in r.json()["error"]["message"]
            pack = c.get("/api/v1/context", params={"project": "webapp"})
            assert pack.status_code == 200 and pack.json()["items"]
            live = c.get("/api/v1/memories", params={"status": "all", "limit": 999}).json()  # not cached
            assert live == before
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert c.get("/api/v1/checkpoints").json() == []
        r = c.post("/api/v1/memories", json={"text": "held off", "project": "webapp"})
        assert r.status_code == 200, r.text
        assert "held off" in [m["text"] for m in c.get("/api/v1/memories").json()]


def _writer(url: str, tok: str, n: int, stop: threading.Event, acked: dict) -> None:
    """One client: add memories, make checkpoints and read packs until stopped or cut off;
    what the server acknowledged (200) goes into `acked`."""
    with httpx.Client(base_url=url, headers=bearer(tok), timeout=10) as c:
        i = 0
        try:
            while not stop.is_set():
                i += 1
                r = c.post("/api/v1/memories", json={"text": f"writer {n} note {i}", "project": "webapp"})
                if r.status_code == 200:
                    acked["memories"].append(r.json())
                if i % 4 == 0:
                    r = c.post("/api/v1/checkpoints", json={"project": "webapp", "note": f"{n}.{i}"})
                    if r.status_code == 200:
                        acked["checkpoints"].append(r.json())
                c.get("/api/v1/context", params={"project": "webapp", "budget": 500 + i})
        except httpx.HTTPError:
            return


@pytest.mark.parametrize("attempt", range(2))
def test_kill_9_while_memories_are_written_keeps_every_acknowledged_one(tmp_path, monkeypatch, attempt):
    fault = "kill -9 of the API server while memories and checkpoints are written"
    home = tmp_path / "home"
    ingest_into(home, build(tmp_path / "claude", sessions=3).root)
    tok = token(home, "write")
    with trial(fault):
        server = Server(home)
        server.wait_healthy(timeout=20)
        stop, acked = threading.Event(), {"memories": [], "checkpoints": []}
        threads = [threading.Thread(target=_writer, args=(server.url, tok, n, stop, acked))
                   for n in range(3)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while (len(acked["memories"]) < 10 + attempt * 10 or not acked["checkpoints"]) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        server.stop()
        assert acked["memories"] and acked["checkpoints"], "the load never got an answer"
        monkeypatch.setenv("MEMORY_HOME", str(home))
        doctor = run("doctor", "--json", check=False)
        assert json.loads(doctor.stdout)["ok"], doctor.stdout
        stored = {m["id"]: m["text"] for m in run("memories", "list", "-p", "webapp", "-n", "10000",
                                                  "--json").json()}
        for m in acked["memories"]:
            assert stored.get(m["id"]) == m["text"], m
        for cp in acked["checkpoints"]:
            assert run("checkpoint", "show", cp["id"], "--json").json() == cp
        again = Server(home)  # it serves again, every acknowledged memory in its answers
        try:
            again.wait_healthy(timeout=20)
            listed = httpx.get(again.url + "/api/v1/memories", headers=bearer(tok),
                               params={"project": "webapp", "limit": 1000}).json()
            assert {m["id"] for m in acked["memories"]} <= {m["id"] for m in listed}
        finally:
            again.stop()
