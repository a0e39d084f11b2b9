"""Ingest is memory-safe (issue 18): a first run's peak resident memory is bounded by the
batch, SQLite's page cache and the keyword index's writer heap, not by the input's size.

The bound is what this run measured when it was written (123 MB for a 20,000-message
sample, 31 MB of input; 144 MB with 20,000-row batches) with room for other platforms'
allocators; a run that kept parsed lines, rows or the index in memory goes past it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coditect_memory.sample import generate

PEAK_BOUND = 180 << 20


# Linux carries a process's peak across exec from the image it was forked from, so a child
# of the (large) test process reports the test process's peak: the ingest is started by a
# small Python process, which waits for it and prints its own child's peak (KiB on Linux).
_WRAPPER = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); "
            "_, status, usage = os.wait4(p.pid, 0); "
            "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)")


def _ingest_peak(data: Path, home: Path) -> tuple[dict, int]:
    """`memory ingest DATA --json` in a child process: its stats and its peak RSS in bytes."""
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    env.pop("MEMORY_CONFIG", None)
    wrapper = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m",
                              "coditect_memory", "ingest", str(data), "--json"],
                             capture_output=True, text=True, env=env, check=True)
    *stats, last = wrapper.stdout.splitlines()
    code, peak_kib = (int(x) for x in last.split())
    assert code == 0, wrapper.stderr[-2000:]
    return json.loads("\n".join(stats)), peak_kib * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is KiB on Linux only")
def test_first_ingest_peak_memory_is_bounded(tmp_path):
    data = tmp_path / "claude"
    truth = generate(data, messages=20_000, seed=7)
    stats, peak = _ingest_peak(data, tmp_path / "home")
    assert stats["errors"] == 0
    assert stats["messages_new"] == truth["messages"]
    assert peak < PEAK_BOUND, f"peak RSS {peak / 1e6:.0f} MB, bound {PEAK_BOUND / 1e6:.0f} MB"


def test_derivation_runs_with_a_small_cache_and_restores_it(settings, monkeypatch):
    """Deriving sorts rather than inserts: it runs with a small page cache (the sorter may
    hold as much again) and gives the writer's cache back afterwards, also when it fails."""
    from coditect_memory.store import open_store
    from coditect_memory.store.sqlite import derive
    from coditect_memory.store.sqlite.backend import CACHE_KIB

    seen: list[int] = []
    real = derive.refresh

    def refresh(store, fail: bool = False):
        seen.append(store.db.execute("PRAGMA cache_size").fetchone()[0])
        if fail:
            raise RuntimeError("refresh failed")
        real(store)

    with open_store(settings) as store:
        monkeypatch.setattr(derive, "refresh", refresh)
        store.derive_sessions()
        assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
        monkeypatch.setattr(derive, "refresh", lambda s: refresh(s, fail=True))
        with pytest.raises(RuntimeError):
            store.derive_sessions()
        assert store.db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    assert seen == [-derive.DERIVE_CACHE_KIB] * 2
