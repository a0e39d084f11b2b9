"""A big SQLite ingest writes its batches in a second process while it parses the next ones
(`store/sqlite/behind.py`): the same store and the same `--json` counts as without it, first
run, incremental run, duplicates and imports; a killed ingest leaves no writer behind and the
next run completes the store; a killed writer or an error inside it fails the run with one
line, and the next run completes it."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coditect_memory.actions.ingest import ingest
from coditect_memory.errors import StoreError
from coditect_memory.ingest.pipeline import Ingest
from coditect_memory.sample import generate
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite.behind import Prepared, Writer

from .builders import append, conversation, line, processes, sid, store_state, transcript_path
from .conftest import run
from .test_crash_safety import (  # noqa: F401 - module fixtures: the dataset and its clean store
    _assert_like_clean,
    clean,
    dataset,
    file_messages,
    kill,
    start_ingest,
    stored_messages,
)

BEHIND = "[ingest]\nwrite_behind_mb = 0\n"  # every run, however small
PLAIN = "[ingest]\nwrite_behind_mb = -1\n"  # never: each batch written as write_batch is called
QUIET = "[search]\nindex_on_ingest = false\n[memories]\nextract_on_ingest = false\n"
VOLATILE = ("seconds", "run_id")


def make_home(path: Path, config: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.toml").write_text(config)
    return path


def ingest_at(home: Path, root: Path, monkeypatch, **kw: Any) -> tuple[dict[str, Any], Any]:
    """The ingest action in this process: its `--json` numbers, and what the writer cost
    (None: no writer ran)."""
    monkeypatch.setenv("MEMORY_HOME", str(home))
    settings = load_settings()
    with open_store(settings) as store:
        stats = ingest(store, settings, root, **kw).to_json()
        cost = getattr(store, "behind_cost", None)
    return {k: v for k, v in stats.items() if k not in VOLATILE}, cost


def tables(home: Path) -> dict[str, list[tuple]]:
    """What a run writes, row ids included (the writer must keep their order too)."""
    db = sqlite3.connect(home / "memory.db")
    try:
        return {name: db.execute(sql).fetchall() for name, sql in {
            "messages": "SELECT * FROM messages ORDER BY id",
            "projects": "SELECT id, path, name, first_seen, last_seen FROM projects ORDER BY id",
            "source_files": "SELECT id, root, path, kind, messages, bytes_consumed, lines_consumed,"
                            " sha256, state, errors, last_error FROM source_files ORDER BY id",
            "run_files": "SELECT source_file_id, bytes_read, messages_read, messages_new, errors,"
                         " action FROM run_files ORDER BY run_id, source_file_id",
            "api_usage": "SELECT * FROM api_usage ORDER BY message_id, request_id",
            "blobs": "SELECT * FROM blobs ORDER BY sha256",
            "metadata_dicts": "SELECT id, source_kind, data FROM metadata_dicts ORDER BY id",
            "ingest_errors": "SELECT path, line, severity, reason FROM ingest_errors ORDER BY id",
            "file_backups": "SELECT * FROM file_backups ORDER BY 1, 2, 3",
        }.items()}
    finally:
        db.close()


def grow(root: Path) -> None:
    """New lines in a transcript, a new one, and a copy of a project (its uids stored already:
    duplicates)."""
    first = sorted(root.glob("projects/*/*.jsonl"))[0]
    append(first, b"".join(line(m) for m in conversation(sid(77), 30, start=400)))
    new = transcript_path(root, sid(78))
    new.parent.mkdir(parents=True, exist_ok=True)
    new.write_bytes(b"".join(line(m) for m in conversation(sid(78), 50)))
    project = sorted(root.glob("projects/*"))[1]
    shutil.copytree(project, root / "projects" / (project.name + "-copy"))


def test_same_store_and_counts_as_without_the_writer(tmp_path, monkeypatch):
    root = tmp_path / "claude"
    generate(root, sessions=12, messages=3000, seed=5)
    behind = make_home(tmp_path / "behind", BEHIND + QUIET)
    plain = make_home(tmp_path / "plain", PLAIN + QUIET)
    for step in ("first run", "incremental run with duplicates", "unchanged"):
        said, cost = ingest_at(behind, root, monkeypatch)
        alone, no_writer = ingest_at(plain, root, monkeypatch)
        assert said == alone, step
        assert no_writer is None and (cost is not None) == (step != "unchanged"), step  # nothing to read
        assert cost is None or cost["cpu_seconds"] > 0
        assert tables(behind) == tables(plain), step
        assert store_state(behind) == store_state(plain), step
        if step == "first run":
            assert said["messages_new"] > 5000 and said["duplicates"] == 0
            grow(root)
        elif step.startswith("incremental"):
            assert said["messages_new"] == 80 and said["duplicates"] > 100, said


def test_small_runs_write_in_this_process(tmp_path, monkeypatch):
    """Below `write_behind_mb` (the Stop hook's one transcript) no process is started; asked
    for, a one-file run writes behind with the same result."""
    root = tmp_path / "claude"
    generate(root, sessions=4, messages=400, seed=3)
    one = sorted(root.glob("projects/*/*.jsonl"))[0].relative_to(root).as_posix()
    default = make_home(tmp_path / "default", QUIET)  # 32 MB: far more than this run
    behind = make_home(tmp_path / "behind", BEHIND + QUIET)
    said, cost = ingest_at(default, root, monkeypatch, only=one)
    assert cost is None and said["messages_new"] > 10
    asked, cost = ingest_at(behind, root, monkeypatch, only=one)
    assert cost is not None and asked == said
    assert tables(behind) == tables(default)


def test_imports_write_behind_alike(tmp_path, monkeypatch):
    """`memory import` of an export (records with their own provenance, files registered
    while the writer writes): the same store either way; twice: all duplicates."""
    root = tmp_path / "claude"
    generate(root, sessions=6, messages=1200, seed=9)
    source = make_home(tmp_path / "source", QUIET)
    ingest_at(source, root, monkeypatch)
    out = tmp_path / "all.jsonl"
    monkeypatch.setenv("MEMORY_HOME", str(source))
    run("export", "--output", str(out))
    homes = {"behind": make_home(tmp_path / "behind", BEHIND + QUIET),
             "plain": make_home(tmp_path / "plain", PLAIN + QUIET)}
    said = {}
    for name, home in homes.items():
        monkeypatch.setenv("MEMORY_HOME", str(home))
        said[name] = [{k: v for k, v in run("import", str(out), "--json").json().items()
                       if k not in VOLATILE} for _ in range(2)]
    assert said["behind"] == said["plain"]
    first, again = said["behind"]
    assert first["messages_new"] > 1000 and again == {**again, "messages_new": 0,
                                                        "duplicates": first["messages_new"]}
    assert store_state(homes["behind"]) == store_state(homes["plain"])


def test_both_backends_write_behind(store):
    """Both backends write a run's batches in the writer process (PostgreSQL's with its own
    connection): `write_batch` hands them over, `written()` counts them once committed."""
    from .test_store_conformance import ROOT, conversation_batch

    run_id = store.begin_run(ROOT, "claude")
    assert store.write_behind() is True
    assert store.write_batch(conversation_batch(store, run_id, "s1", 4)) == (0, 0)
    assert store.write_batch(conversation_batch(store, run_id, "s1", 4)) == (0, 0)  # again: duplicates
    assert store.written() == (4, 4)
    assert store.behind_cost is not None and store.status()["messages"] == 4
    assert store.written() == (0, 0)  # nothing handed over since


# --- faults ------------------------------------------------------------------------------

def writers(home: Path) -> list[int]:
    """The writer processes of ingests into `home`."""
    return processes(home, b"writer_main")


def wait_for(cond, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)
    return cond()


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds processes in /proc")


@linux_only
@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_killed_ingest_leaves_no_writer_and_the_next_run_completes(
        dataset, clean, memory_home, fraction):  # noqa: F811
    make_home(memory_home, BEHIND + "batch_size = 50\n")
    total = clean["status"]["messages"]
    p = start_ingest(memory_home, dataset)
    assert wait_for(lambda: writers(memory_home) or p.poll() is not None), "no writer started"
    assert writers(memory_home), "the run ended before its writer was seen"
    assert wait_for(lambda: stored_messages(memory_home) > fraction * total or p.poll() is not None)
    assert kill(p), "the run ended before it could be killed"
    assert wait_for(lambda: not writers(memory_home), 15), "the writer outlived the killed ingest"
    before = stored_messages(memory_home)
    assert 0 < before < total
    out = run("ingest", str(dataset), "--json").json()
    assert out["messages_new"] == total - before  # what the writer committed is not stored twice
    _assert_like_clean(memory_home, clean, killed=True)


@linux_only
def test_killed_writer_fails_the_run_in_one_line_and_the_next_run_completes(
        dataset, clean, memory_home):  # noqa: F811
    make_home(memory_home, BEHIND + "batch_size = 50\n")
    total = clean["status"]["messages"]
    p = start_ingest(memory_home, dataset)
    assert wait_for(lambda: stored_messages(memory_home) > 0.2 * total or p.poll() is not None)
    pids = writers(memory_home)
    assert pids and p.poll() is None, "the run ended before its writer could be killed"
    os.kill(pids[0], signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 12, (out, err)
    assert err.strip().count("\n") == 0 and "writer process ended" in err, err
    assert "Traceback" not in err
    runs = run("runs", "--json").json()
    assert runs[0]["status"] == "failed" and "writer process" in runs[0]["message"]
    before = stored_messages(memory_home)
    assert 0 < before < total
    again = run("ingest", str(dataset), "--json").json()
    assert again["messages_new"] == total - before
    _assert_like_clean(memory_home, clean, killed=False)  # the run before: failed (above)


def test_an_error_in_the_writer_is_raised_by_the_ingest(dataset, clean, memory_home):  # noqa: F811
    """A batch the writer cannot store (here a constraint a trigger raises) fails the run
    in the ingest process, as without the writer; nothing after that batch is written; the
    next run completes the store."""
    make_home(memory_home, BEHIND + "batch_size = 50\n")
    settings = load_settings(memory_home)
    with open_store(settings) as store:
        store.db.execute("CREATE TRIGGER boom AFTER INSERT ON messages WHEN new.id > 3000"
                         " BEGIN SELECT RAISE(ABORT, 'boom: a constraint failed'); END")
        with pytest.raises(sqlite3.IntegrityError, match="boom"):
            Ingest(store, settings).run(dataset)
        assert store.behind_cost is not None  # the writer ran, and ended
        assert store.db.execute("SELECT max(id) FROM messages").fetchone()[0] <= 3000
        assert store.runs()[0]["status"] == "failed"
        assert "boom" in store.runs()[0]["message"]
        store.db.execute("DROP TRIGGER boom")
    assert not writers(memory_home)
    run("ingest", str(dataset), "--json")
    _assert_like_clean(memory_home, clean, killed=False)  # the run before: failed (above)
    assert file_messages(memory_home) == clean["file_messages"]


def test_a_writer_that_cannot_open_the_store_says_so_at_the_first_batch(tmp_path):
    """The writer's own open fails (no store there): the first batch's reply is that error,
    one line, not a hang; the process is gone after it."""
    from coditect_memory.store.sqlite.backend import SQLiteStore

    writer = Writer.start((SQLiteStore, (str(tmp_path / "no-such-folder" / "memory.db"),),
                           {"busy_timeout": 1.0}))
    assert writer is not None
    writer.send(Prepared(1, [], [], [], [], [], {}, [], [], {}))
    with pytest.raises(StoreError, match="no store at"):
        writer.finish()
    assert writer.proc.poll() is not None


def test_a_batch_travels_whole_with_marshal_or_pickle():
    """What a batch sends is what the writer gets: plain values with marshal, and a pickle
    when a value is of a type marshal does not take (a watermark's state of another type)."""
    import io
    from decimal import Decimal

    from coditect_memory.store.protocol.ingest import FileUpdate
    from coditect_memory.store.sqlite.behind import _dump_batch, _load_batch

    def update(state: dict[str, Any]) -> FileUpdate:
        return FileUpdate(7, "transcript", 10, 1, "ab", 10, 2, "ab", state, False, 0, None,
                          "new", 10, 2, 0)

    rows = [(b"\x01" * 16, "s", None, "transcript", "user", "user", "hi", None, None, 5, 1.5,
             True, ("x",))]
    for state, tag in (({"cwd": "/p", "last_ts": 5, "n": [1, {"a": None}]}, b"M"),
                       ({"odd": Decimal("1.5")}, b"P")):
        prep = Prepared(3, rows, [0], [("sha", 2, 1, b"xy")], [("m", "r")], [("s", "n", "p")],
                        {"s": {"start": 5}}, [("f", 1, 0, "error", "bad")], [update(state)],
                        {7: 1})
        data = _dump_batch(prep)
        assert data[:1] == tag
        assert _load_batch(io.BytesIO(len(data).to_bytes(8, "big") + data)) == prep


def test_the_writers_adapters_bind_the_same_values():
    """The writer process registers adapters for None and bytes (behind._bind_directly: the
    cheaper path through sqlite3's binding); what is stored must not change: NULL for None,
    the same BLOB for bytes, and a bytes subclass or memoryview still bound as a BLOB.
    Run in a child process: the adapters are sqlite3's, for the whole process."""
    import subprocess

    code = (
        "import sqlite3\n"
        "from coditect_memory.store.sqlite.behind import _bind_directly\n"
        "_bind_directly()\n"
        "db = sqlite3.connect(':memory:')\n"
        "db.execute('CREATE TABLE t (a, b, c, d)')\n"
        "class B(bytes): pass\n"
        "db.execute('INSERT INTO t VALUES (?, ?, ?, ?)', (None, b'\\x00\\x01', B(b'xy'),"
        " memoryview(b'z')))\n"
        "print(db.execute('SELECT typeof(a), a IS NULL, hex(b), typeof(c), hex(c), typeof(d)"
        " FROM t').fetchone())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "('null', 1, '0001', 'blob', '7879', 'blob')"


def test_batches_sent_behind_a_failed_one_are_not_written(tmp_path, monkeypatch):
    """Up to AHEAD batches are in flight: when one fails, those sent behind it are refused
    (not written), the first error is raised, and the writer still says what it cost."""
    from coditect_memory.store.sqlite.behind import AHEAD

    from .test_store_conformance import ROOT, conversation_batch

    monkeypatch.setenv("MEMORY_HOME", str(tmp_path))
    with open_store(load_settings()) as store:
        run_id = store.begin_run(ROOT, "claude")
        store.db.execute("CREATE TRIGGER boom AFTER INSERT ON messages WHEN new.id > 4"
                         " BEGIN SELECT RAISE(ABORT, 'boom'); END")  # the third batch fails
        assert store.write_behind() is True and AHEAD >= 2
        with pytest.raises(sqlite3.IntegrityError, match="boom"):
            for n in range(1, 4 + AHEAD):  # AHEAD - 1 sent behind the third, then it is settled
                store.write_batch(conversation_batch(store, run_id, f"s{n}", 2))
            store.written()
        assert store.written() == (4, 0)  # the two batches before it, committed
        assert store.behind_cost and store.behind_cost["cpu_seconds"] >= 0
        assert store.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 4
