"""Incremental ingest (issue: robustness, 2): read only what is new, never lose or double
what was read before."""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from .builders import (
    append,
    assistant,
    conversation,
    line,
    open_at,
    sid,
    stamp,
    transcript_path,
    uids,
    user,
    write_jsonl,
)
from .conftest import FIXTURES, ingest_json, needs_fixtures, run

# The behaviour is the backend's contract: every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("cli_backend")

S1, S2 = sid(1), sid(2)


@pytest.fixture
def claude(tmp_path: Path) -> Path:
    """The folder ingested, apart from MEMORY_HOME (which the autouse fixture puts in tmp_path)."""
    root = tmp_path / "claude"
    root.mkdir()
    return root


def _lines(session: str) -> dict[int, dict]:
    msgs = run("show", "session", session, "--json").json()["messages"]
    return {m["source_line"]: m for m in msgs if m["source_kind"] == "transcript"}


def _action(home: Path, run_id: int, path_end: str) -> str:
    with open_at(home) as store:
        return next(f["action"] for f in store.run_files(run_id) if f["path"].endswith(path_end))


class TestAppend:
    """An append-only file is resumed at the byte offset already consumed: only the new
    bytes are read, the new lines get their true line numbers."""

    def test_transcript_resumes_at_the_watermark(self, claude, memory_home):
        path = write_jsonl(transcript_path(claude, S1), conversation(S1, 10))
        first = ingest_json(claude)
        assert first["messages_new"] == 10
        added = b"".join(line(o) for o in conversation(S1, 4, start=10))
        append(path, added)
        out = ingest_json(claude)
        assert out["bytes_read"] == len(added)
        assert (out["files_changed"], out["messages_read"], out["messages_new"],
                out["duplicates"], out["errors"]) == (1, 4, 4, 0, 0)
        assert _action(memory_home, out["run_id"], f"{S1}.jsonl") == "appended"
        lines = _lines(S1)
        assert sorted(lines) == list(range(1, 15))
        assert lines[11]["content"].startswith("step 10:")

    def test_history_resumes_at_the_watermark(self, claude):
        hist = claude / "history.jsonl"
        rows = [{"display": f"prompt {i}", "pastedContents": {}, "timestamp": 1763571600000 + i,
                 "project": "/home/dev/webapp", "sessionId": S1} for i in range(5)]
        write_jsonl(hist, rows[:3])
        assert ingest_json(claude)["messages_new"] == 3
        append(hist, line(rows[3]) + line(rows[4]))
        out = ingest_json(claude)
        assert (out["messages_read"], out["messages_new"], out["duplicates"]) == (2, 2, 0)
        assert out["bytes_read"] == len(line(rows[3]) + line(rows[4]))
        assert run("status", "--json").json()["by_source"] == {"history": 5}


class TestRewrite:
    """A file whose consumed prefix changed is read again from the start: its new records
    are stored and the records read earlier are kept."""

    def test_changed_prefix_is_reread(self, claude, memory_home):
        path = write_jsonl(transcript_path(claude, S1), conversation(S1, 6))
        ingest_json(claude)
        before = uids(memory_home)
        # the tool rewrote the file: a new first line, then the old lines and two new ones
        rewritten = [user(S1, 100, "a different start")] + conversation(S1, 8)
        write_jsonl(path, rewritten)
        out = ingest_json(claude)
        assert out["bytes_read"] == path.stat().st_size
        assert (out["messages_read"], out["messages_new"], out["duplicates"]) == (9, 3, 6)
        assert _action(memory_home, out["run_id"], f"{S1}.jsonl") == "rewritten"
        assert before < uids(memory_home)

    def test_shorter_rewrite_is_reread_and_old_records_stay(self, claude, memory_home):
        path = write_jsonl(transcript_path(claude, S1), conversation(S1, 8))
        ingest_json(claude)
        write_jsonl(path, [user(S1, 200, "compacted and started over")])
        out = ingest_json(claude)
        assert (out["messages_read"], out["messages_new"]) == (1, 1)
        assert len(uids(memory_home)) == 9
        assert _action(memory_home, out["run_id"], f"{S1}.jsonl") == "rewritten"

    def test_same_bytes_new_mtime_reads_nothing_new(self, claude):
        path = write_jsonl(transcript_path(claude, S1), conversation(S1, 6))
        ingest_json(claude)
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        out = ingest_json(claude)
        assert (out["bytes_read"], out["messages_read"], out["messages_new"]) == (0, 0, 0)


class TestDisappeared:
    """Records of files that have disappeared (Claude Code's cleanup) stay in the store."""

    def test_deleted_transcript_keeps_its_messages(self, claude, memory_home):
        write_jsonl(transcript_path(claude, S1), conversation(S1, 6))
        gone = write_jsonl(transcript_path(claude, S2), conversation(S2, 4))
        ingest_json(claude)
        before = uids(memory_home)
        gone.unlink()
        out = ingest_json(claude)
        assert out["messages_new"] == 0
        assert uids(memory_home) == before and len(before) == 10
        status = run("status", "--json").json()
        assert status["missing_files"] == 1 and status["sessions"] == 2
        assert sorted(_lines(S2)) == [1, 2, 3, 4]


class _Opens:
    """Every file the process opens, via an audit hook (they cannot be removed: gated)."""

    active: list[str] | None = None
    installed = False

    @classmethod
    def record(cls) -> list[str]:
        if not cls.installed:
            def hook(event: str, args: tuple) -> None:
                if event == "open" and cls.active is not None and isinstance(args[0], str | bytes):
                    cls.active.append(os.fsdecode(args[0]))
            sys.addaudithook(hook)
            cls.installed = True
        cls.active = []
        return cls.active

    @classmethod
    def stop(cls) -> None:
        cls.active = None


class TestUnchangedRerun:
    """A re-run over unchanged data opens no source file and stores nothing."""

    @needs_fixtures
    def test_rerun_opens_no_file(self, claude):
        root = claude
        shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
        debug = root / "debug" / f"{S1}.txt"
        debug.parent.mkdir()
        debug.write_text("2025-11-19T17:07:55.342Z [DEBUG] Stream started\n")
        first = ingest_json(root)
        assert first["messages_new"] > 2000
        opened = _Opens.record()
        try:
            out = ingest_json(root)
        finally:
            _Opens.stop()
        assert (out["files_changed"], out["bytes_read"], out["messages_read"]) == (0, 0, 0)
        under_root = [p for p in opened if Path(p).is_relative_to(root)]
        assert under_root == []


class TestDedup:
    """One message seen twice is stored once; different messages with equal text are all kept."""

    def test_copied_transcript_and_history_are_stored_once(self, claude, memory_home):
        a, b = claude / "a", claude / "b"
        write_jsonl(transcript_path(a, S1), conversation(S1, 6))
        hist = [{"display": "run the tests", "timestamp": 1763571600000, "project": "/p",
                 "sessionId": S1}]
        write_jsonl(a / "history.jsonl", hist)
        # another machine's copy: same session under another project folder, same history
        write_jsonl(transcript_path(b, S1, slug="-mnt-backup-webapp"), conversation(S1, 6))
        write_jsonl(b / "history.jsonl", hist)
        ingest_json(a)
        out = ingest_json(b)
        assert (out["messages_read"], out["messages_new"], out["duplicates"]) == (7, 0, 7)
        assert len(uids(memory_home)) == 7

    def test_equal_text_in_different_sessions_and_times_is_kept(self, claude):
        for n, session in enumerate((S1, S2)):
            write_jsonl(transcript_path(claude, session), [
                user(session, 0, "yes"), assistant(session, 1, "ok"),
                user(session, 2, "yes"), assistant(session, 3, "ok"),
                user(session, 4, "yes", day=n)])
        write_jsonl(claude / "history.jsonl", [
            {"display": "yes", "timestamp": 1763571600000 + i * 1000, "project": "/home/dev/webapp",
             "sessionId": s} for i, s in enumerate((S1, S1, S2))])
        ingest_json(claude)
        contents = Counter(m["content"] for s in (S1, S2)
                           for m in run("show", "session", s, "--json").json()["messages"])
        assert (contents["yes"], contents["ok"]) == (6 + 3, 4)


def _debug_entries(session: str) -> list[dict]:
    return [m for m in run("show", "session", session, "--json", "--all").json()["messages"]
            if m["source_kind"] == "debug"]


class TestDebugLogs:
    """A debug entry spans lines; the last one may still grow: it is updated, never doubled."""

    HEAD = [
        "2025-11-19T17:07:55.342Z [DEBUG] [LSP MANAGER] starting servers",
        "2025-11-19T17:07:55.400Z [ERROR] Hook PreToolUse failed: exit 1",
        "  stderr: lint failed",
    ]

    @pytest.fixture
    def log(self, claude) -> Path:
        path = claude / "debug" / f"{S1}.txt"
        path.parent.mkdir()
        path.write_text("\n".join(self.HEAD) + "\n")
        return path

    def test_last_entry_grows_and_is_updated(self, claude, log):
        assert ingest_json(claude)["messages_new"] == 2
        append(log, b"  at hooks/lint.sh:12\n")
        out = ingest_json(claude)
        assert out["messages_new"] == 0 and out["errors"] == 0
        entries = _debug_entries(S1)
        assert len(entries) == 2
        assert entries[1]["content"].splitlines() == [
            "Hook PreToolUse failed: exit 1", "  stderr: lint failed", "  at hooks/lint.sh:12"]
        assert entries[1]["level"] == "error" and entries[1]["source_line"] == 2

    def test_last_entry_grows_and_a_new_one_follows(self, claude, log):
        """Between two runs the last entry got more lines and another entry came after it:
        the grown entry is no longer the last, and must still be updated."""
        ingest_json(claude)
        append(log, b"  at hooks/lint.sh:12\n2025-11-19T17:08:00.000Z [DEBUG] Stream started\n")
        out = ingest_json(claude)
        assert out["messages_new"] == 1
        entries = _debug_entries(S1)
        assert [e["source_line"] for e in entries] == [1, 2, 5]
        assert entries[1]["content"].endswith("  at hooks/lint.sh:12")
        assert entries[2]["content"] == "Stream started"
        assert ingest_json(claude)["messages_new"] == 0
        assert len(_debug_entries(S1)) == 3

    def test_half_written_continuation_is_read_when_complete(self, claude, log):
        append(log, b"  at hooks/li")
        first = ingest_json(claude)
        assert first["errors"] == 0
        assert _debug_entries(S1)[1]["content"].endswith("lint failed")
        append(log, b"nt.sh:12\n")
        ingest_json(claude)
        entries = _debug_entries(S1)
        assert len(entries) == 2 and entries[1]["content"].endswith("  at hooks/lint.sh:12")


class TestRunRecords:
    """Every run is recorded with what it saw, read, added and rejected (`memory runs`)."""

    def test_runs_match_what_ingest_reported(self, claude):
        path = write_jsonl(transcript_path(claude, S1), conversation(S1, 4))
        write_jsonl(transcript_path(claude, S2), conversation(S2, 2))
        first = ingest_json(claude)
        append(path, line(user(S1, 4, "one more")) + b"not json\n")
        second = ingest_json(claude)
        third = ingest_json(claude)
        runs = run("runs", "--json").json()
        assert [r["run_id"] for r in runs] == [third["run_id"], second["run_id"], first["run_id"]]
        keys = ("files_seen", "files_changed", "messages_read", "messages_new", "duplicates",
                "errors", "bytes_read")
        for r, out in zip(runs, (third, second, first), strict=True):
            assert r["status"] == "completed"
            assert {k: r[k] for k in keys} == {k: out[k] for k in keys}
        assert (first["files_seen"], first["files_changed"], first["messages_new"]) == (2, 2, 6)
        assert (second["files_changed"], second["messages_new"], second["errors"]) == (1, 1, 1)
        assert (third["files_changed"], third["messages_read"]) == (0, 0)
        assert stamp(4) in {m["timestamp"] for m in _lines(S1).values()}
