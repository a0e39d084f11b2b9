"""Sync under faults (issue 17): the server killed (-9) mid-push and mid-pull, the client
killed mid-push and mid-pull, the server restarted between two batches, a connection cut
mid-response, batches sent twice and out of order, two machines' clocks hours apart. After
recovery every store and the server hold exactly the union: the same count and the same
uids (order-independent digest), nothing lost, nothing twice. Batches are small (a setting)
so each fault lands between batches; the kills are failpoints (coditect_memory.failpoints):
SIGKILL at an exact step, or a real kill -9 of a running `memory sync push`."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from coditect_memory.actions import sync as act
from coditect_memory.ingest.pipeline import Progress
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.sync.batches import encode
from coditect_memory.sync.client import SyncClient

from .reliability import trial
from .sync_support import (
    CutResponse,
    SyncServer,
    env_of,
    machine,
    memory,
    memory_proc,
    sample,
    share,
    uid_digest,
)

BATCH = 150  # messages a batch (~900 a machine): every fault below lands between batches


@pytest.fixture
def world(tmp_path):
    """Two machines (one transcript on both), the union store, a server on SQLite."""
    ra, rb = sample(tmp_path, 1, sessions=1), sample(tmp_path, 2, sessions=1)
    share(ra, rb)
    a, b = machine(tmp_path, "a", ra, BATCH), machine(tmp_path, "b", rb, BATCH)
    ref = machine(tmp_path, "ref", ra)
    memory(ref, "ingest", str(rb), "--json")
    srv = SyncServer(tmp_path / "server").start()
    try:
        yield srv, a, b, uid_digest(ref)
    finally:
        srv.stop()


def _link(srv, *homes, url=None):
    tok = srv.token()
    for home in homes:
        memory(home, "sync", "init", "--server", url or srv.url, "--token", tok)


def _sync_all(*homes):
    """Push every machine, then pull every machine: what recovery is."""
    for home in homes:
        assert memory(home, "sync", "push", "--json").json()["messages"] >= 0
    for home in homes:
        memory(home, "sync", "pull", "--json")


def _assert_union(srv, union, *homes):
    assert srv.uid_digest() == union
    for home in homes:
        assert uid_digest(home) == union


def _cursor(home):
    with open_store(load_settings(home), readonly=True) as s:
        return s.sync_state()["push_cursor"]


@pytest.mark.parametrize("point", [
    pytest.param("sync.server.stored", marks=pytest.mark.fault("sync: server killed (-9) mid-push")),
    pytest.param("sync.server.serving", marks=pytest.mark.fault("sync: server killed (-9) mid-pull"))])
def test_server_killed(world, point):
    srv, a, b, union = world
    _link(srv, a, b)
    pulling = point == "sync.server.serving"
    if pulling:
        for home in (a, b):
            memory(home, "sync", "push")
    srv.stop()
    srv.start(env={"MEMORY_FAILPOINT": point})  # SIGKILL at that step of the first batch
    failed = memory_proc(a, "sync", "pull" if pulling else "push")
    assert failed.code == 20 and "Traceback" not in failed.stderr
    assert srv.proc is not None and srv.proc.wait(10) == -9
    srv.proc = None
    srv.start()
    _sync_all(a, b)
    _assert_union(srv, union, a, b)


@pytest.mark.fault("sync: client killed (-9) between the server's answer and its cursor")
def test_client_killed_after_the_server_acknowledged(world):
    srv, a, b, union = world
    _link(srv, a, b)
    died = memory_proc(a, "sync", "push", env={"MEMORY_FAILPOINT": "sync.push.acked"})
    assert died.code == -9
    assert _cursor(a) == 0  # the batch the server has is sent again: counted as duplicates
    again = memory(a, "sync", "push", "--json").json()
    assert again["duplicates"] == BATCH
    died = memory_proc(b, "sync", "pull", env={"MEMORY_FAILPOINT": "sync.pull.stored"})
    assert died.code == -9
    _sync_all(a, b)
    _assert_union(srv, union, a, b)


@pytest.mark.fault("sync: `memory sync push` killed (-9) while it runs")
def test_client_process_killed_mid_push(world):
    srv, a, b, union = world
    _link(srv, a, b)
    proc = subprocess.Popen([sys.executable, "-m", "coditect_memory", "sync", "push"],
                            env={**__import__("os").environ, **env_of(a)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _cursor(a) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert _cursor(a) > 0 or proc.returncode == 0  # it got somewhere (or even finished)
    _sync_all(a, b)
    _assert_union(srv, union, a, b)


class _RestartAfterFirst(Progress):
    """Restarts the server once, between the first and the second batch."""

    def __init__(self, srv) -> None:
        self.srv, self.done = srv, False

    def advance(self, nbytes: int, messages: int) -> None:
        if not self.done:
            self.done = True
            self.srv.stop()
            self.srv.start()


@pytest.mark.fault("sync: server restarted between two batches")
def test_server_restarted_between_batches(world, monkeypatch):
    srv, a, b, union = world
    _link(srv, a, b)
    monkeypatch.setenv("MEMORY_HOME", str(a))
    settings = load_settings(a)
    with trial("sync: server restarted between two batches"), open_store(settings) as store:
        try:
            out = act.push(store, settings, progress=_RestartAfterFirst(srv))
            assert out.batches > 1
        except act.MemoryError_ as e:  # a kept-alive connection to the old process: one retry
            assert "did not answer" in str(e)
    _sync_all(a, b)
    _assert_union(srv, union, a, b)


@pytest.mark.fault("sync: connection cut mid-response")
def test_connection_cut_mid_response(world):
    srv, a, b, union = world
    relay = CutResponse(srv.port, after=20_000)  # a few pushes' answers, then mid-pull
    _link(srv, a, b, url=relay.url)
    for home in (a, b, a):
        out = memory_proc(home, "sync", "push")
        assert out.code in (0, 20) and "Traceback" not in out.stderr
    cut = memory_proc(b, "sync", "pull")
    assert cut.code == 20 and "Traceback" not in cut.stderr
    assert relay.cut_done.is_set()
    _link(srv, a, b)  # the same server again, directly: the cursors are kept
    _sync_all(a, b)
    _assert_union(srv, union, a, b)


def test_batches_twice_and_out_of_order(world):
    srv, a, b, union = world
    _link(srv, a, b)
    settings = load_settings(a)
    with open_store(settings, readonly=True) as store:
        state = store.sync_state()
        first = store.sync_push_rows(0, 10**12, BATCH)
        second = store.sync_push_rows(first[-1]["id"], 10**12, BATCH)
    with SyncClient(srv.url, srv.token(), state["machine_id"], "a", None) as c:
        newer, older = encode(second)[0], encode(first)[0]
        assert c.post_bytes("push", {}, newer)["new"] == BATCH
        assert c.post_bytes("push", {}, older)["new"] == BATCH  # older after newer
        twice = c.post_bytes("push", {}, newer)
        assert twice["new"] == 0 and twice["duplicates"] == BATCH
    assert srv.uid_digest()[0] == 2 * BATCH
    _sync_all(a, b)
    _assert_union(srv, union, a, b)


def test_clocks_hours_apart(world):
    srv, a, b, union = world
    _link(srv, a, b)
    skew = {a: str(-7 * 3600), b: str(9 * 3600)}  # a is 7 hours slow, b 9 hours fast
    for home in (a, b):
        memory(home, "sync", "push", env={"MEMORY_SYNC_CLOCK_SKEW": skew[home]})
    for home in (b, a):
        memory(home, "sync", "pull", env={"MEMORY_SYNC_CLOCK_SKEW": skew[home]})
    _assert_union(srv, union, a, b)
    st = memory(a, "sync", "status", "--json", env={"MEMORY_SYNC_CLOCK_SKEW": skew[a]}).json()
    assert st["pending"] == 0 and st["warning"] is None
