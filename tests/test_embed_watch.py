"""`memory embed --watch`: it embeds in the background on a CPU budget, picks up what a later
ingest adds, and a SIGTERM or Ctrl-C mid-batch stops it cleanly with nothing half-written
(every vector below the watermark, none above), on both backends, with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from coditect_memory.search import embedder, vectors
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .builders import sid, transcript_path, user, write_jsonl
from .conftest import ingest_json, run

UNITS = 1500  # enough that a stop lands mid-way on any machine


def write_prompts(root, session: int, n: int, offset: int = 0) -> None:
    s = sid(session)
    write_jsonl(transcript_path(root, s),
                [user(s, 2 * i, f"prompt {offset + i}: how should the {offset + i}th widget handle retries")
                 for i in range(n)])


def state():
    """(vectors in the store, watermark, ids embedded) for the default model."""
    with open_store(load_settings(), readonly=True) as store:
        st = store.index_state(vectors.engine_name(embedder.DEFAULT_MODEL))
        ids = [v.message_id for v in store.all_vectors(embedder.DEFAULT_MODEL)]
        return store.embedding_count(embedder.DEFAULT_MODEL), (st or {}).get("done_id", 0), ids


def start_watch(*extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "coditect_memory", "embed", "--watch", "--json",
                             "--interval", "0.2", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def niceness(pid: int) -> int:
    """The process's nice value (/proc/PID/stat, field 19)."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def wait_for(cond, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_batch_stops_cleanly_and_resumes(tmp_path, cli_backend, sig):
    root = tmp_path / "claude"
    write_prompts(root, 1, UNITS)
    ingest_json(root)
    proc = start_watch("--threads", "1", "--duty", "0.5")
    try:
        wait_for(lambda: state()[0] > 0)
        assert niceness(proc.pid) == min(os.nice(0) + 10, 19)  # the CPU budget's default --nice (19 at most)
        proc.send_signal(sig)  # a batch is almost surely in the model right now
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    summary = json.loads(out)
    count, done, ids = state()
    assert 0 < summary["embedded"] == count < UNITS, summary  # stopped mid-way
    assert summary["pending"] == UNITS - count and summary["vectors"] == count
    assert max(ids) <= done and len(ids) == len(set(ids))  # nothing past the watermark
    rest = run("embed", "--json").json()  # resumes exactly where it stopped
    assert rest["embedded"] == UNITS - count and rest["vectors"] == UNITS


def test_watch_embeds_what_a_later_ingest_adds(tmp_path, memory_home):
    memory_home.mkdir(parents=True, exist_ok=True)  # ingest leaves the embedding to the watcher
    (memory_home / "config.toml").write_text('[search]\nembed_on_ingest = "false"\n')
    root = tmp_path / "claude"
    write_prompts(root, 1, 20)
    ingest_json(root)
    proc = start_watch("--duty", "1", "--nice", "0")
    try:
        wait_for(lambda: state()[0] == 20)
        write_prompts(root, 2, 30, offset=100)
        ingest_json(root)
        wait_for(lambda: state()[0] == 50)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    summary = json.loads(out)
    assert proc.returncode == 0 and summary["vectors"] == 50 and summary["pending"] == 0, (summary, err)
    assert summary["rounds"] >= 2


def test_watch_options_are_checked():
    r = run("embed", "--watch", "--limit", "5", check=False)
    assert r.code == 2 and "--limit and --watch" in r.stderr
    assert run("embed", "--watch", "--duty", "0", check=False).code == 2
