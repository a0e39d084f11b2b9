"""An ingest's helper processes (the writer, the keyword-index follower) keep off one core,
which the ingest's own process then has to itself (cores.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
two_cores = pytest.mark.skipif(len(CORES) < 2, reason="needs a machine with two cores or more (Linux)")


@two_cores
def test_a_helper_leaves_the_first_core_and_gets_them_all_back():
    code = ("import json, os; from coditect_memory.cores import leave_first_core, keep_to\n"
            "had = leave_first_core(); off = sorted(os.sched_getaffinity(0)); keep_to(had)\n"
            "print(json.dumps([sorted(had), off, sorted(os.sched_getaffinity(0))]))")
    had, off, back = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                               text=True, check=True).stdout)
    assert had == CORES and back == CORES
    assert off == CORES[1:]


def test_one_core_is_left_as_it_is():
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("no affinity on this OS")
    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
            "from coditect_memory.cores import leave_first_core\n"
            "print(leave_first_core(), sorted(os.sched_getaffinity(0)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", f"[{CORES[0]}]"]


@two_cores
def test_the_writer_process_runs_off_the_first_core(tmp_path, monkeypatch):
    from .test_store_conformance import ROOT, conversation_batch

    monkeypatch.setenv("MEMORY_HOME", str(tmp_path))
    with open_store(load_settings()) as store:
        run_id = store.begin_run(ROOT, "claude")
        assert store.write_behind() is True
        store.write_batch(conversation_batch(store, run_id, "s1", 2))
        pid = store._behind_writer.proc.pid
        deadline = time.monotonic() + 30
        while sorted(os.sched_getaffinity(pid)) != CORES[1:] and time.monotonic() < deadline:
            time.sleep(0.01)  # it moves as it starts
        assert sorted(os.sched_getaffinity(pid)) == CORES[1:]
        store.write_batch(conversation_batch(store, run_id, "s2", 2))
        assert store.written() == (4, 0)
    assert sorted(os.sched_getaffinity(0)) == CORES  # this process is not pinned


@two_cores
def test_every_thread_of_a_helper_is_moved():
    """Linux sets affinity per thread: a thread started before (the keyword index's writer
    threads are) moves too, and gets every core back."""
    code = ("import json, os, threading; from coditect_memory.cores import leave_first_core, keep_to\n"
            "go = threading.Event(); t = threading.Thread(target=go.wait); t.start()\n"
            "had = leave_first_core(); off = sorted(os.sched_getaffinity(t.native_id))\n"
            "keep_to(had); back = sorted(os.sched_getaffinity(t.native_id)); go.set(); t.join()\n"
            "print(json.dumps([off, back]))")
    off, back = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                          text=True, check=True).stdout)
    assert off == CORES[1:] and back == CORES
