"""Two `memory ingest` at once never corrupt the store (issue: robustness, 3): the second
waits for the first, or gives up after [ingest] lock_wait_seconds with a one-line reason."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from coditect_memory.errors import StoreError
from coditect_memory.ingest.lock import IngestLock

from .builders import open_at, store_state
from .conftest import run, run_proc
from .test_crash_safety import make_dataset, start_ingest


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("concurrent") / "claude")


@pytest.fixture(scope="module")
def clean(dataset, tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("clean-home")
    p = start_ingest(home, dataset)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return store_state(home)


def _running(home: Path, timeout: float = 30) -> None:
    """Wait until an ingest holds the lock and has started its run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open_at(home) as store:
                if [r["status"] for r in store.runs(1)] == ["running"]:
                    return
        except StoreError:  # the store is still being created
            pass
        time.sleep(0.005)
    raise AssertionError("the first ingest never started its run")


class TestConcurrentIngest:
    """Concurrent runs serialise: the store ends equal to one clean run's."""

    def test_two_at_once_both_complete(self, dataset, clean, memory_home):
        first = start_ingest(memory_home, dataset)
        second = start_ingest(memory_home, dataset)
        outs = []
        for p in (first, second):
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            outs.append(json.loads(out))
        assert store_state(memory_home) == clean
        assert sum(o["messages_new"] for o in outs) == clean["status"]["messages"]
        assert sorted(o["messages_new"] for o in outs)[0] == 0  # one ran after the other
        runs = run("runs", "--json").json()
        assert [r["status"] for r in runs] == ["completed", "completed"]

    def test_second_gives_up_after_lock_wait(self, dataset, clean, memory_home):
        memory_home.mkdir(parents=True, exist_ok=True)
        (memory_home / "config.toml").write_text("[ingest]\nlock_wait_seconds = 0.5\n")
        first = start_ingest(memory_home, dataset)
        _running(memory_home)
        os.kill(first.pid, signal.SIGSTOP)  # a slow writer, however loaded this machine is
        try:
            t0 = time.monotonic()
            second = run_proc("ingest", str(dataset), "--json",
                              env={"MEMORY_HOME": str(memory_home)})
            waited = time.monotonic() - t0
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert second.code == 11 and second.stdout == ""
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in second.stderr
        assert lines[0].startswith("memory: error: another `memory ingest` (pid ")
        assert f"(pid {first.pid})" in lines[0] and "waited 0.5 s" in lines[0]
        assert waited < 30
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert store_state(memory_home) == clean
        assert [r["status"] for r in run("runs", "--json").json()] == ["completed"]

    def test_waits_for_a_lock_holder(self, tmp_path, memory_home):
        """The lock is the real one a running ingest takes; held here, then let go."""
        root = make_dataset(tmp_path / "small", sessions=3, lines=10)
        memory_home.mkdir(parents=True, exist_ok=True)
        (memory_home / "config.toml").write_text("[ingest]\nlock_wait_seconds = 0.3\n")
        with IngestLock(memory_home, 0):
            refused = run_proc("ingest", str(root), "--json")
            assert refused.code == 11 and "another `memory ingest`" in refused.stderr
            (memory_home / "config.toml").write_text("[ingest]\nlock_wait_seconds = 20\n")
            waiting = start_ingest(memory_home, root)
            time.sleep(0.5)
            assert waiting.poll() is None  # still waiting for the lock
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
        assert json.loads(out)["messages_new"] > 0
