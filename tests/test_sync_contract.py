"""The sync contract (issue 17): two machines that each ingested their own folders (one
transcript on both) push to and pull from one `memory serve`, and end with exactly what one
store that ingested both folders holds — on the server and on both machines; pushing again
changes nothing; with the server stopped, push fails in one line and status says what waits;
once it is back, one push delivers and the other machine's next pull receives, and its search
finds it. The server's store runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest

from .api_support import ingest_new_prompt
from .sync_support import (
    SyncServer,
    hashes,
    machine,
    memory,
    memory_proc,
    sample,
    share,
    uid_digest,
)

NEEDLE = "zanzibar-quokka-needle"


@pytest.fixture(params=["sqlite", "postgresql"])
def server_url(request) -> str:
    """The central store: '' (SQLite in the server's home) or a new PostgreSQL database."""
    return request.getfixturevalue("pg_server").database() if request.param == "postgresql" else ""


def _json(home, *args):
    return memory(home, *args, "--json").json()


def test_two_machines_end_with_the_union(tmp_path, server_url):
    ra, rb = sample(tmp_path, 1, sessions=2), sample(tmp_path, 2, sessions=2)
    share(ra, rb)
    a, b = machine(tmp_path, "a", ra), machine(tmp_path, "b", rb)
    ref = machine(tmp_path, "ref", ra)
    memory(ref, "ingest", str(rb), "--json")
    own = {"a": hashes(a), "b": hashes(b)}
    srv = SyncServer(tmp_path / "server", server_url).start()
    try:
        tok = srv.token()
        for home in (a, b):
            linked = _json(home, "sync", "init", "--server", srv.url, "--token", tok)
            assert linked["notes"] == []
        pushed = [_json(home, "sync", "push") for home in (a, b)]
        shared = len(own["a"].keys() & own["b"].keys())
        assert shared > 0
        assert pushed[1]["duplicates"] == shared  # the shared transcript is one set of rows
        for home in (a, b):
            _json(home, "sync", "pull")

        union = uid_digest(ref)
        assert srv.uid_digest() == union
        assert uid_digest(a) == union and uid_digest(b) == union
        ref_h, srv_h = hashes(ref), srv.hashes()
        for name, home in (("a", a), ("b", b)):
            mine = hashes(home)
            # a machine's own captures are never overwritten by a pull ...
            assert all(mine[u] == h for u, h in own[name].items())
            # ... and what it pulled is the server's copy (masked by level on the way)
            assert all(mine[u] == srv_h[u] for u in mine.keys() - own[name].keys())
        masked = [u for u in ref_h if srv_h[u] != ref_h[u]]
        assert len(masked) < len(ref_h) / 20  # only rows holding sensitive PII differ

        before = srv.hashes()
        for home in (a, b):  # pushing again changes nothing
            again = _json(home, "sync", "push")
            assert again["messages"] == 0 and again["new"] == 0
        assert srv.hashes() == before

        # Offline: b captures something new while the server is down.
        srv.stop()
        ingest_new_prompt(b, rb, 1, f"remember the {NEEDLE} deployment")
        failed = memory_proc(b, "sync", "push")
        assert failed.code == 20, failed.stderr
        assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1
        assert srv.url in failed.stderr and "queued" in failed.stderr
        st = _json(b, "sync", "status")
        assert st["pending"] == 1 and st["pending_since"] is not None
        assert st["last_push"]["result"].startswith("failed")
        assert memory_proc(b, "search", NEEDLE, "--json").code == 0  # local work goes on

        srv.start()
        delivered = _json(b, "sync", "push")
        assert delivered["messages"] == 1 and delivered["new"] == 1
        assert _json(b, "sync", "status")["pending"] == 0
        received = _json(a, "sync", "pull")
        assert received["messages"] == 1 and received["new"] == 1
        hits = _json(a, "search", NEEDLE)
        assert hits["results"] and NEEDLE in json.dumps(hits["results"][0])
        assert uid_digest(a) == uid_digest(b) == srv.uid_digest()
    finally:
        srv.stop()
