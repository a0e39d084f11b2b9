"""SIGKILL at any moment, then another run, gives exactly the store of one clean run
(issue: robustness, 3; DESIGN.md principle 1)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coditect_memory.errors import StoreError
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .builders import (
    conversation,
    line,
    open_at,
    sid,
    store_state,
    transcript_path,
    uids,
    write_jsonl,
)
from .conftest import ingest_json, run
from .reliability import record

SESSIONS = 160
LINES = 100


def make_dataset(root: Path, sessions: int = SESSIONS, lines: int = LINES) -> Path:
    """A Claude folder big enough that one ingest takes a second or two, with every kind of
    file the kill must not confuse: transcripts, history, debug logs, todos, bad lines."""
    for s in range(sessions):
        session = sid(1000 + s)
        project = f"proj{s % 7}"
        write_jsonl(transcript_path(root, session, slug=f"-home-dev-{project}"),
                    conversation(session, lines, cwd=f"/home/dev/{project}", day=s % 20,
                                 tools=True))
    write_jsonl(root / "history.jsonl", [
        {"display": f"step {i}: please fix the failing test in module {i}", "pastedContents": {},
         "timestamp": 1763571600000 + i * 2000, "project": "/home/dev/proj0",
         "sessionId": sid(1000)} for i in range(0, lines, 2)])
    debug = root / "debug"
    debug.mkdir()
    for s in range(5):
        entries = [f"2025-11-19T17:{m:02d}:00.000Z [DEBUG] Hook PreToolUse run {m}\n  stdout: ok\n"
                   for m in range(40)]
        (debug / f"{sid(1000 + s)}.txt").write_text("".join(entries))
    todos = root / "todos"
    todos.mkdir()
    for s in range(5):
        (todos / f"{sid(1000 + s)}-agent-{sid(1000 + s)}.json").write_text(
            json.dumps([{"content": "write tests", "status": "in_progress", "activeForm": "x"}]))
    bad = transcript_path(root, sid(999))
    write_jsonl(bad, conversation(sid(999), 6))
    with open(bad, "ab") as f:
        f.write(b'{"type": "user", "message": oops}\n' + line(conversation(sid(999), 7)[-1])
                + b'{"type": "assistant", "uuid": "still-writ')
    return root


def start_ingest(home: Path, root: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "coditect_memory", "ingest", str(root), "--json"],
                            env={**os.environ, "MEMORY_HOME": str(home)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def stored_messages(home: Path) -> int:
    """Messages committed so far by a running ingest (0 before the store exists)."""
    try:
        with open_at(home) as store:
            return store.status()["messages"]
    except StoreError:  # not created, or not migrated yet
        return 0


def kill(p: subprocess.Popen) -> bool:
    """SIGKILL; True when the process was still running (so the kill landed mid-run)."""
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)
    return p.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("crash") / "claude")


@pytest.fixture(scope="module")
def clean(dataset, tmp_path_factory) -> dict:
    """The store one uninterrupted run builds: what every killed-and-resumed store must equal."""
    home = tmp_path_factory.mktemp("clean-home")
    p = start_ingest(home, dataset)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    state = store_state(home)
    state["file_messages"] = file_messages(home)
    stats = json.loads(out)
    assert stats["errors"] > 0 and stats["messages_new"] == state["status"]["messages"] > 20000
    assert state["status"]["partial_files"] == 1
    return state


def file_messages(home: Path) -> dict[tuple[str, str], int]:
    """Each source file's count of messages first read from it (`report extraction-progress`)."""
    with open_at(home) as store:
        return {(f["root"], f["path"]): f["messages"] for f in store.files()}


def _config(home: Path, batch_size: int | None) -> None:
    if batch_size:
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(f"[ingest]\nbatch_size = {batch_size}\n")


def _assert_like_clean(home: Path, clean: dict, killed: bool) -> None:
    state = store_state(home)
    assert state["status"] == clean["status"]
    assert {m[0] for m in state["messages"]} == {m[0] for m in clean["messages"]}
    assert uids(home) == {m[0] for m in clean["messages"]}
    for part in ("messages", "sessions", "projects", "files", "facts"):
        assert state[part] == clean[part], part
    assert file_messages(home) == clean["file_messages"]  # counts exact, re-read rows or not
    status = run("status", "--json").json()
    for key in ("messages", "sessions", "projects", "by_source"):
        assert status[key] == clean["status"][key]
    doctor = run("doctor", "--json", check=False).json()
    assert doctor["ok"], doctor["store"]
    runs = run("runs", "--json").json()
    assert runs[0]["status"] == "completed"
    if killed and len(runs) > 1:  # the killed run had started: it is marked, not "running"
        # (a kill after the run was recorded, during the search index update, leaves it completed)
        assert runs[1]["status"] in ("interrupted", "completed")
        if runs[1]["status"] == "interrupted":
            assert "ended before the run completed" in runs[1]["message"]


def _fresh_store(tmp_path: Path) -> Path:
    """The home of a new, empty store: every index its migrations define."""
    home = tmp_path / "fresh-home"
    open_store(load_settings(home)).close()
    return home


def _indexes(store) -> dict[str, str]:
    return dict(store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                                 " AND sql IS NOT NULL").fetchall())


class TestKilledIngest:
    """A run killed with SIGKILL at any moment, then one more run, leaves exactly the store of
    one clean run: same uids, counts, sessions, projects, manifest and token usage."""

    @pytest.mark.parametrize(("delay", "batch_size"), [
        (0.05, None), (0.2, None), (0.5, None), (1.0, None), (0.2, 50), (0.6, 50)],
        ids=["0.05s", "0.2s", "0.5s", "1.0s", "0.2s-batch50", "0.6s-batch50"])
    def test_kill_after_delay(self, dataset, clean, memory_home, delay, batch_size):
        _config(memory_home, batch_size)
        p = start_ingest(memory_home, dataset)
        time.sleep(delay)
        killed = kill(p)
        ingest_json(dataset)
        _assert_like_clean(memory_home, clean, killed)

    @pytest.mark.parametrize("fraction", [0.2, 0.6])
    def test_kill_between_batches(self, dataset, clean, memory_home, fraction):
        """Killed once some batches are committed (so before the last of them)."""
        _config(memory_home, 50)
        total = clean["status"]["messages"]
        p = start_ingest(memory_home, dataset)
        while p.poll() is None and stored_messages(memory_home) <= fraction * total:
            time.sleep(0.005)
        assert kill(p), "the run ended before it could be killed"
        before = stored_messages(memory_home)
        assert 0 < before < total
        out = ingest_json(dataset)
        assert out["messages_new"] == total - before  # what was committed is not stored twice
        _assert_like_clean(memory_home, clean, killed=True)

    def test_kill_while_indexes_are_deferred(self, dataset, clean, memory_home, tmp_path):
        """A first run killed mid-write leaves the secondary indexes of `messages` dropped
        (store/sqlite/bulk.py), recorded in the store: reads still answer, and the next run
        writes the rest without them and builds them — the same indexes as a new store's."""
        _config(memory_home, 50)
        total = clean["status"]["messages"]
        p = start_ingest(memory_home, dataset)
        while p.poll() is None and stored_messages(memory_home) <= 0.3 * total:
            time.sleep(0.005)
        assert kill(p), "the run ended before it could be killed"
        before = stored_messages(memory_home)
        with open_at(memory_home) as store:
            deferred = {r[0] for r in store.db.execute("SELECT name FROM deferred_indexes")}
        assert {"messages_session", "messages_history_unlinked"} <= deferred
        assert run("status", "--json").json()["messages"] == before  # answered by scans
        out = ingest_json(dataset)
        assert out["messages_new"] == total - before
        _assert_like_clean(memory_home, clean, killed=True)
        with open_at(memory_home) as store, open_at(_fresh_store(tmp_path)) as fresh:
            assert _indexes(store) == _indexes(fresh)
            assert store.db.execute("SELECT count(*) FROM deferred_indexes").fetchone()[0] == 0

    def test_killed_again_and_again(self, dataset, clean, memory_home):
        _config(memory_home, 50)
        total = clean["status"]["messages"]
        stored = []
        for _ in range(3):
            p = start_ingest(memory_home, dataset)
            goal = stored[-1] if stored else 0
            while p.poll() is None and stored_messages(memory_home) <= goal:
                time.sleep(0.005)
            time.sleep(0.1)
            assert kill(p), "the run ended before it could be killed"
            stored.append(stored_messages(memory_home))
        assert 0 < stored[0] < stored[-1] < total  # each run went on where the last one stopped
        ingest_json(dataset)
        _assert_like_clean(memory_home, clean, killed=True)
        runs = run("runs", "--json").json()
        assert [r["status"] for r in runs] == ["completed"] + ["interrupted"] * 3

    def test_counts_exact_after_kills_at_random_instants(self, dataset, clean, memory_home):
        """Per-file counts (`source_files.messages`) equal a clean run's after SIGKILLs at
        random instants of one resumed ingest after another (they once fell short by the
        rows a killed run had stored before its file's watermark)."""
        _config(memory_home, 50)
        rng = random.Random(1010)
        landed = 0
        for _ in range(5):
            p = start_ingest(memory_home, dataset)
            time.sleep(rng.uniform(0.05, 1.5))
            landed += kill(p)
        ingest_json(dataset)
        counts = file_messages(memory_home)
        wrong = sum(counts.get(k) != v for k, v in clean["file_messages"].items())
        record("ingest: SIGKILL at random instants, per-file counts", tries=5,
               failures=5 if wrong else 0)
        assert landed > 0, "no kill landed mid-run"
        assert wrong == 0, f"{wrong} files' counts differ from a clean run"
        _assert_like_clean(memory_home, clean, killed=True)
