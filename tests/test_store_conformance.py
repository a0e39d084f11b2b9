"""The Store protocol, driven directly: what every backend must do the same (issue 9).

Runs once per backend of the `store` fixture (conftest.BACKENDS). Nothing here knows SQL or
a file layout: a second backend passes these tests or is not done.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest

from coditect_memory.errors import StoreError
from coditect_memory.sources.base import Record, Usage
from coditect_memory.store import Batch, Store, open_store
from coditect_memory.store.base import FileUpdate
from coditect_memory.store.protocol.read import AmbiguousSession

from .conftest import backend_settings

ROOT = "/home/dev/.claude"
PROJECT = "/home/dev/webapp"
T0 = 1_763_571_600_000  # 2025-11-19T17:00:00Z


def record(session: str, i: int, **kw) -> Record:
    """Line i of a transcript: prompts on even lines, answers on odd ones."""
    user = i % 2 == 0
    fields = {"uid": f"{session}/{i}", "kind": "transcript", "type": "user" if user else "assistant",
              "role": "user" if user else "assistant",
              "content": f"please fix test {i}" if user else f"fixed test {i}",
              "session_id": session, "ts": T0 + i * 1000, "line": i + 1, "offset": i * 100,
              "project": PROJECT, "ext_id": f"{session}/{i}"}
    return Record(**{**fields, **kw})


def watermark(file_id: int, lines: int, **kw) -> FileUpdate:
    fields = {"file_id": file_id, "kind": "transcript", "size": lines * 100, "mtime_ns": 1,
              "sha256": f"sha-{file_id}-{lines}", "bytes_consumed": lines * 100,
              "lines_consumed": lines, "prefix_sha256": f"prefix-{file_id}-{lines}",
              "state": {"n": lines}, "partial_tail": False, "errors": 0, "last_error": None,
              "action": "new", "bytes_read": lines * 100, "messages_read": lines, "messages_new": 0}
    return FileUpdate(**{**fields, **kw})


def session_facts(session: str, lines: int) -> dict:
    return {session: {"start": T0, "end": T0 + (lines - 1) * 1000, "project": PROJECT,
                      "git_branch": "main", "version": "2.1.38"}}


def conversation_batch(store: Store, run_id: int, session: str, lines: int,
                       path: str | None = None) -> Batch:
    """One transcript of `lines` lines, read whole: its rows and its watermark."""
    path = path or f"projects/-home-dev-webapp/{session}.jsonl"
    file_id = store.register_files(ROOT, [(path, "transcript")])[path]
    return Batch(run_id=run_id, records=[(record(session, i), file_id) for i in range(lines)],
                 sessions=session_facts(session, lines), files=[watermark(file_id, lines)])


class TestWrite:
    def test_register_files_gives_stable_ids(self, store):
        ids = store.register_files(ROOT, [("a.jsonl", "transcript"), ("b.jsonl", "history")])
        assert set(ids) == {"a.jsonl", "b.jsonl"} and len(set(ids.values())) == 2
        assert store.register_files(ROOT, [("a.jsonl", "transcript")]) == {"a.jsonl": ids["a.jsonl"]}
        assert store.register_files(ROOT, []) == {}

    def test_a_batch_twice_is_stored_once(self, store):
        run_id = store.begin_run(ROOT, "claude")
        batch = conversation_batch(store, run_id, "s1", 6)
        assert store.write_batch(batch) == (6, 0)
        again = conversation_batch(store, run_id, "s1", 6)
        assert store.write_batch(again) == (0, 6)
        assert store.status()["messages"] == 6
        assert batch.new_by_file == {batch.files[0].file_id: 6}

    def test_the_watermark_lands_with_its_batch(self, store):
        run_id = store.begin_run(ROOT, "claude")
        batch = conversation_batch(store, run_id, "s1", 4)
        path = next(iter(store.manifest(ROOT)))
        assert store.manifest(ROOT)[path].sha256 is None  # registered, not read yet
        store.write_batch(batch)
        state = store.manifest(ROOT)[path]
        assert (state.id, state.kind, state.size, state.sha256) == (
            batch.files[0].file_id, "transcript", 400, batch.files[0].sha256)
        assert (state.bytes_consumed, state.lines_consumed, state.prefix_sha256) == (400, 4, "prefix-1-4")
        assert state.state == {"n": 4} and state.partial_tail is False and state.missing_since is None
        assert store.run_files(run_id) == [{
            "path": path, "kind": "transcript", "action": "new", "sha256": batch.files[0].sha256,
            "size": 400, "bytes_read": 400, "messages_read": 4, "messages_new": 4, "errors": 0}]
        assert [f["messages"] for f in store.files()] == [4]

    def test_a_batch_that_fails_leaves_nothing(self, store):
        run_id = store.begin_run(ROOT, "claude")
        good = conversation_batch(store, run_id, "s1", 4)
        bad = conversation_batch(store, run_id, "s2", 4, path="projects/x/s2.jsonl")
        before = store.manifest(ROOT)
        broken = record("s2", 3, line=object())  # cannot be stored: the write fails midway
        batch = Batch(run_id=run_id, records=good.records + bad.records[:3] + [(broken, bad.records[0][1])],
                      usage=[Usage("m1", "r1", "s1", "claude-opus-4-6", T0, 1, 2, 3, 4)],
                      sessions={**good.sessions, **bad.sessions}, files=good.files + bad.files,
                      errors=[("projects/x/s2.jsonl", 9, 900, "error", "invalid JSON")])
        with pytest.raises(Exception):  # noqa: B017 - whatever the backend's driver raises
            store.write_batch(batch)
        status = store.status()
        assert (status["messages"], status["sessions"], status["projects"], status["api_responses"]) == (0, 0, 0, 0)
        assert store.manifest(ROOT) == before and store.run_errors(run_id) == []
        assert store.write_batch(conversation_batch(store, run_id, "s1", 4)) == (4, 0)  # still usable

    def test_usage_keeps_the_largest_figures_of_a_streamed_response(self, store):
        run_id = store.begin_run(ROOT, "claude")
        batch = conversation_batch(store, run_id, "s1", 2)
        batch.usage = [Usage("m1", "r1", "s1", "claude-opus-4-6", T0, 3, 1, 200, 100),
                       Usage("m1", "r1", "s1", "claude-opus-4-6", T0, 3, 13, 200, 100)]
        store.write_batch(batch)
        status = store.status()
        assert status["api_responses"] == 1
        assert status["tokens"] == {"input": 3, "output": 13, "cache_read": 200, "cache_write": 100}

    def test_unread_and_missing_files(self, store):
        run_id = store.begin_run(ROOT, "claude")
        store.write_batch(conversation_batch(store, run_id, "s1", 2, path="a.jsonl"))
        store.note_files(ROOT, [("a.jsonl", "transcript", 200, 1), ("odd.bin", "unknown", 7, 1)], T0)
        status = store.status()
        assert status["unknown_files"] == [f"{ROOT}/odd.bin"] and status["missing_files"] == 0
        store.note_files(ROOT, [("odd.bin", "unknown", 7, 1)], T0)  # a.jsonl disappeared
        assert store.status()["missing_files"] == 1
        assert store.manifest(ROOT)["a.jsonl"].missing_since == T0
        store.note_files(ROOT, [], T0, mark_missing=False)  # only part of the root looked at
        assert store.status()["missing_files"] == 1
        store.note_files(ROOT, [("a.jsonl", "transcript", 200, 1), ("odd.bin", "unknown", 7, 1)], T0)
        assert store.status()["missing_files"] == 0


class TestRuns:
    def test_runs_errors_and_an_interrupted_run(self, store):
        first = store.begin_run(ROOT, "claude")
        store.record_errors(first, [("projects", None, None, "error", "cannot list folder")])
        second = store.begin_run(ROOT, "extraction")  # the first never finished: killed
        store.finish_run(second, {"files_seen": 3, "messages_new": 5, "errors": 1}, "completed")
        runs = store.runs()
        assert [(r["run_id"], r["status"]) for r in runs] == [(second, "completed"), (first, "interrupted")]
        assert runs[0]["format"] == "extraction" and runs[0]["root"] == ROOT
        assert (runs[0]["files_seen"], runs[0]["messages_new"], runs[0]["errors"]) == (3, 5, 1)
        assert runs[0]["started_at"].endswith("Z") and runs[0]["finished_at"]
        assert "ended before the run completed" in runs[1]["message"]
        assert store.runs(1) == runs[:1]
        assert store.run_errors(first) == [{"path": "projects", "line": None, "byte_offset": None,
                                            "severity": "error", "reason": "cannot list folder"}]
        status = store.status()
        assert status["runs"] == 2 and status["last_run"]["run_id"] == second


class TestRead:
    @pytest.fixture
    def filled(self, store) -> Store:
        run_id = store.begin_run(ROOT, "claude")
        store.write_batch(conversation_batch(store, run_id, "s1-aaaa", 6))
        store.write_batch(conversation_batch(store, run_id, "s2-bbbb", 3))
        assert store.derive_sessions() == 2
        assert store.derive_sessions() == 0  # nothing touched since
        store.finish_run(run_id, {}, "completed")
        return store

    def test_sessions_after_derivation(self, filled):
        rows = filled.sessions()
        assert sorted(r["session_id"] for r in rows) == ["s1-aaaa", "s2-bbbb"]  # same start
        s1 = filled.session("s1-aaaa")
        assert (s1["message_count"], s1["prompt_count"], s1["project"], s1["project_name"]) == (
            6, 3, PROJECT, "webapp")
        assert s1["title"] == "please fix test 0" and s1["git_branch"] == "main"
        assert s1["started_at"] == "2025-11-19T17:00:00.000Z"
        assert filled.session("s1") == s1  # a unique prefix
        with pytest.raises(AmbiguousSession) as ambiguous:  # not unique: the candidates
            filled.session("s")
        assert sorted(m["session_id"] for m in ambiguous.value.matches) == ["s1-aaaa", "s2-bbbb"]
        assert filled.session("nope") is None
        assert [r["session_id"] for r in filled.sessions(project="webapp")] == [r["session_id"] for r in rows]
        assert filled.sessions(project="elsewhere") == []
        assert len(filled.sessions(limit=1)) == 1

    def test_messages_in_order(self, filled):
        msgs = filled.session_messages("s1-aaaa")
        assert [m["uid"] for m in msgs] == [f"s1-aaaa/{i}" for i in range(6)]
        first = msgs[0]
        assert (first["type"], first["content"], first["source_kind"], first["source_line"]) == (
            "user", "please fix test 0", "transcript", 1)
        assert first["timestamp"] == "2025-11-19T17:00:00.000Z" and first["is_error"] is False
        assert first["source_file"] == "projects/-home-dev-webapp/s1-aaaa.jsonl"
        assert filled.session_messages("nope") == []

    def test_status_counts(self, filled):
        status = filled.status()
        assert (status["messages"], status["sessions"], status["projects"]) == (9, 2, 1)
        assert status["by_source"] == {"transcript": 9}
        assert status["files"] == {"transcript": {"files": 2, "bytes": 900}}
        assert status["first_message"] == "2025-11-19T17:00:00.000Z"
        assert status["store"]["kind"] == filled.kind and status["store"]["schema_version"] > 0
        assert status["schema_version"] == status["store"]["schema_version"]
        assert filled.check() == []


def test_status_time_range_spans_every_project_and_rows_without_one(store):
    """first/last message come from one seek per project: rows of no project count too."""
    run_id = store.begin_run(ROOT, "claude")
    store.write_batch(conversation_batch(store, run_id, "s1", 4))
    other = conversation_batch(store, run_id, "s2", 2, path="projects/-home-dev-api/s2.jsonl")
    other.records = [(record("s2", i, project="/home/dev/api", ts=T0 + 3_600_000 + i), f)
                     for i, (_, f) in enumerate(other.records)]
    other.sessions = {"s2": {**session_facts("s2", 2)["s2"], "project": "/home/dev/api"}}
    store.write_batch(other)
    path = "history.jsonl"
    fid = store.register_files(ROOT, [(path, "history")])[path]
    store.write_batch(Batch(run_id=run_id, records=[(record("", 0, uid="h/0", kind="history",
                      session_id=None, project=None, ext_id=None, ts=T0 - 60_000), fid)],
                      files=[watermark(fid, 1, kind="history")]))
    store.derive_sessions()
    status = store.status()
    assert status["projects"] == 2 and status["messages"] == 7
    assert status["first_message"] == "2025-11-19T16:59:00.000Z"  # the row of no project
    assert status["last_message"] == "2025-11-19T18:00:00.001Z"  # the other project's last


class TestReadOnly:
    def test_a_missing_store_is_not_created(self, backend, settings, request):
        with pytest.raises(StoreError, match="memory ingest"):
            open_store(backend_settings(backend, settings, request, empty=True), readonly=True)
        assert not settings.home.exists()

    def test_reads_but_refuses_to_write(self, store, backend, settings, request):
        run_id = store.begin_run(ROOT, "claude")
        store.write_batch(conversation_batch(store, run_id, "s1", 2))
        with open_store(backend_settings(backend, settings, request), readonly=True) as ro:
            assert ro.readonly and ro.status()["messages"] == 2
            assert len(ro.check()) == 2  # a session to derive, a run still running
            for write in (lambda: ro.begin_run(ROOT, "claude"),
                          lambda: ro.register_files(ROOT, [("x", "transcript")]),
                          lambda: ro.write_batch(conversation_batch(store, run_id, "s9", 1)),
                          lambda: ro.derive_sessions()):
                with pytest.raises(StoreError, match="read-only"):
                    write()
            assert ro.status()["messages"] == 2


class TestThreads:
    def test_readers_while_a_writer_ingests(self, store):
        """Many threads read (status, sessions, one session) while one thread writes batches:
        no thread shares a connection, and every read sees whole batches."""
        run_id = store.begin_run(ROOT, "claude")
        batches, lines = 30, 10
        failures: list[BaseException] = []
        seen: list[int] = []
        done = threading.Event()

        def write() -> None:
            try:
                for n in range(batches):
                    store.write_batch(conversation_batch(store, run_id, f"s{n:03d}", lines))
                store.derive_sessions()
            except BaseException as e:  # noqa: BLE001 - reported by the test
                failures.append(e)
            finally:
                done.set()

        def read() -> None:
            try:
                last = 0
                while not done.is_set():
                    count = store.status()["messages"]
                    assert count % lines == 0 and count >= last, count  # whole batches, never fewer
                    last = count
                    for s in store.sessions(limit=5):
                        store.session(s["session_id"])
                        assert len(store.session_messages(s["session_id"])) == lines
                    store.runs(5)
                    store.files()
                seen.append(last)
            except BaseException as e:  # noqa: BLE001 - reported by the test
                failures.append(e)

        threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []
        assert len(seen) == 6
        assert store.status()["messages"] == batches * lines
        assert store.status()["sessions"] == batches

    def test_each_thread_has_its_own_connection(self, store):
        if store.kind != "sqlite":
            pytest.skip("the connection is a SQLite detail")
        conns = {}

        def grab(n: int) -> None:
            conns[n] = store.db

        threads = [threading.Thread(target=grab, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(c) for c in conns.values()} | {id(store.db)}) == 5
        late = threading.Thread(target=grab, args=(9,))  # the four threads have ended
        late.start()
        late.join()
        for n in range(4):  # their connections were closed when the next thread connected
            with pytest.raises(sqlite3.ProgrammingError, match="closed"):
                conns[n].execute("SELECT 1")
        assert conns[9].execute("SELECT 1").fetchone()[0] == 1 and store.status()["messages"] == 0

