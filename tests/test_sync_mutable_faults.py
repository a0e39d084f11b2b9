"""Mutable sync under faults, with real processes: a client killed (SIGKILL) after the server
accepted its push but before it knew, or after a pull answered but before it applied it; the
server killed with a push written but not committed. After recovery every store holds each
change once: one central revision, no conflict, nothing pending."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coditect_memory.actions import browse
from coditect_memory.errors import SyncUnreachable
from coditect_memory.settings import load_settings
from coditect_memory.store import Store, open_store
from coditect_memory.sync.client import SyncClient
from coditect_memory.sync.mutable import mutable_status, pull_mutable, push_mutable

from .api_support import Server, token
from .builders import conversation, sid, transcript_path, write_jsonl
from .conftest import ingest_into

# A machine's push or pull in a process of its own (so SIGKILL takes only it).
CLIENT = """
import json, sys
from pathlib import Path
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.sync.client import SyncClient
from coditect_memory.sync import mutable
home, url, tok, who, what = sys.argv[1:]
with open_store(load_settings(Path(home))) as s, SyncClient(url, tok, who, who, None) as c:
    print(json.dumps((mutable.push_mutable if what == "push" else mutable.pull_mutable)(c, s)))
"""


class Setup:
    def __init__(self, base: Path) -> None:
        root = base / "claude"
        write_jsonl(transcript_path(root, sid(1)), conversation(sid(1), 4))
        self.homes = {who: base / who for who in ("server", "a", "b")}
        for home in self.homes.values():
            ingest_into(home, root)
        self.token = token(self.homes["server"], "write")
        self.server = self.start()

    def start(self, failpoint: str = "") -> Server:
        with pytest.MonkeyPatch.context() as mp:  # the server process inherits the environment
            if failpoint:
                mp.setenv("MEMORY_FAILPOINT", failpoint)
            server = Server(self.homes["server"])
        server.wait_healthy(30)
        return server

    def open(self, who: str) -> Store:
        return open_store(load_settings(self.homes[who]))

    def run(self, who: str, what: str, failpoint: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", CLIENT, str(self.homes[who]), self.server.url,
                               self.token, f"machine-{who}", what], capture_output=True, text=True,
                              env={**os.environ, "MEMORY_FAILPOINT": failpoint}, timeout=120)

    def log(self) -> list[tuple[str, str, int]]:
        with self.open("server") as s:
            return [(c.kind, c.key, c.revision) for c in s.mutable_log_since(0, 1000, None, None)[0]]


@pytest.fixture
def setup(tmp_path) -> Iterator[Setup]:
    s = Setup(tmp_path)
    try:
        yield s
    finally:
        s.server.stop()


def _title(s: Setup, who: str) -> str | None:
    with s.open(who) as store:
        note = store.session_notes([sid(1)]).get(sid(1))
    return note["title"] if note else None


@pytest.mark.fault("mutable sync: client SIGKILLed after its push was accepted")
def test_client_killed_after_the_server_accepted(setup):
    with setup.open("a") as a:
        browse.annotate(a, sid(1), "accepted, answer lost", None)
    assert setup.run("a", "push", "sync-mutable:push-answered").returncode == -9
    assert setup.log() == [("note", sid(1), 1)]
    with setup.open("a") as a:
        assert mutable_status(a)["pending"] == 1  # it does not know yet
    done = setup.run("a", "push")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"sent": 1, "accepted": 1, "conflicts": 0}
    assert setup.log() == [("note", sid(1), 1)]  # the same value again: no new revision
    assert json.loads(setup.run("b", "pull").stdout)["applied"] == 1
    for who in ("a", "b"):
        with setup.open(who) as store:
            assert mutable_status(store) == {"pending": 0, "conflicts": 0}
    assert _title(setup, "b") == "accepted, answer lost"


@pytest.mark.fault("mutable sync: client SIGKILLed after a pull answered")
def test_client_killed_mid_pull(setup):
    with setup.open("a") as a:
        browse.annotate(a, sid(1), "pulled twice", ["x"])
    assert setup.run("a", "push").returncode == 0
    assert setup.run("b", "pull", "sync-mutable:pull-received").returncode == -9
    assert _title(setup, "b") is None
    with setup.open("b") as b:
        assert b.mutable_cursor() == 0
    assert json.loads(setup.run("b", "pull").stdout) == {"received": 1, "applied": 1, "conflicts": 0}
    assert json.loads(setup.run("b", "pull").stdout) == {"received": 0, "applied": 0, "conflicts": 0}
    assert _title(setup, "b") == "pulled twice"
    with setup.open("b") as b:
        assert b.mutable_conflicts() == []


@pytest.mark.fault("mutable sync: server SIGKILLed with a push written, not committed")
def test_server_killed_mid_push(setup):
    setup.server.stop()
    setup.server = setup.start("sync-mutable:server-logged")
    with setup.open("a") as a:
        browse.annotate(a, sid(1), "survives the server's death", None)
        with (SyncClient(setup.server.url, setup.token, "machine-a", "a", None) as c,
              pytest.raises(SyncUnreachable)):
            push_mutable(c, a)
        assert mutable_status(a)["pending"] == 1
    setup.server.proc.wait(10)
    assert setup.log() == []  # rolled back with the process
    setup.server = setup.start()
    with setup.open("a") as a, SyncClient(setup.server.url, setup.token, "machine-a", "a", None) as c:
        assert push_mutable(c, a) == {"sent": 1, "accepted": 1, "conflicts": 0}
        assert mutable_status(a) == {"pending": 0, "conflicts": 0}
    with setup.open("b") as b, SyncClient(setup.server.url, setup.token, "machine-b", "b", None) as c:
        assert pull_mutable(c, b)["applied"] == 1
    assert setup.log() == [("note", sid(1), 1)]
    assert _title(setup, "b") == "survives the server's death"
