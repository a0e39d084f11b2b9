"""Capture that runs by itself: `memory watch` ingests a change within seconds and stops
cleanly; `memory ingest schedule` and `memory backup schedule` print jobs that would work
(and refuse the ones that would fail every night)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

from .builders import append, conversation, line, transcript_path, user, write_jsonl
from .conftest import run, run_proc


def _reader(p: subprocess.Popen) -> queue.Queue:
    """Lines of `p`'s stdout, read by a thread: a test waits with a timeout, never forever."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        assert p.stdout is not None
        for text in p.stdout:
            lines.put(text)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _events(lines: queue.Queue, want: int, timeout: float = 60) -> list[dict]:
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(events) < want and time.monotonic() < deadline:
        try:
            events.append(json.loads(lines.get(timeout=max(0.1, deadline - time.monotonic()))))
        except queue.Empty:
            break
    return events


class TestWatch:
    def test_a_new_prompt_is_searchable_within_seconds(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        path = write_jsonl(transcript_path(root, "s1"), conversation("s1", 4))
        p = subprocess.Popen([sys.executable, "-m", "coditect_memory", "watch", str(root),
                              "--json", "--debounce", "0.3", "--min-gap", "0.5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "MEMORY_HOME": str(memory_home)})
        lines = _reader(p)
        try:
            first = _events(lines, 1)
            assert first and first[0]["changed"] == 0 and first[0]["run"]["messages_new"] == 4
            started = time.monotonic()
            append(path, line(user("s1", 9, "where is the zebrafish-needle kept")))
            second = _events(lines, 1)
            assert second and second[0]["changed"] >= 1, second
            assert second[0]["run"]["messages_new"] == 1
            assert time.monotonic() - started < 15
            hits = run("search", "zebrafish-needle", "--json").json()
            assert [r["session_id"] for r in hits["results"]] == ["s1"]
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert "Traceback" not in err

    def test_a_missing_folder_is_one_line(self, tmp_path):
        r = run_proc("watch", str(tmp_path / "nope"))
        assert r.code != 0 and "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1


class TestIngestSchedule:
    def test_cron_line_names_the_folder_and_home(self, tmp_path, memory_home):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, "s1"), conversation("s1", 2))
        out = run("ingest", "schedule", "--path", str(root), "--every", "15m", "--json").json()
        assert out["cron"].startswith("*/15 * * * * MEMORY_HOME=")
        assert f"ingest {root}" in out["cron"] and str(memory_home) in out["cron"]
        hourly = run("ingest", "schedule", "--path", str(root), "--every", "2h", "--json").json()
        assert hourly["cron"].startswith("0 */2 * * * ")

    def test_systemd_install(self, tmp_path, monkeypatch):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, "s1"), conversation("s1", 2))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        out = run("ingest", "schedule", "--path", str(root), "--systemd", "--install",
                  "--json").json()
        timer = tmp_path / "xdg" / "systemd" / "user" / "memory-ingest.timer"
        assert str(timer) in out["installed"] and "OnCalendar=*:0/10" in timer.read_text()

    def test_bad_input(self, tmp_path):
        r = run_proc("ingest", "schedule", "--every", "90m")
        assert r.code == 2 and "whole hours" in r.stderr
        r = run_proc("ingest", "schedule", "--path", str(tmp_path / "nope"))
        assert r.code != 0 and "Traceback" not in r.stderr

    def test_plain_ingest_still_takes_a_path(self, tmp_path):
        root = tmp_path / "claude"
        write_jsonl(transcript_path(root, "s1"), conversation("s1", 3))
        assert run("ingest", str(root), "--json").json()["messages_new"] == 3


class TestBackupScheduleNeedsATarget:
    def test_refused_without_target(self):
        r = run_proc("backup", "schedule")
        assert r.code == 2 and "no backup target" in r.stderr


class TestStatusWarnsWhenCaptureFallsBehind:
    """`memory status` compares the transcripts on disk with what the store read."""

    def _root(self, tmp_path, age_days: float = 0, cleanup: int | None = None):
        root = tmp_path / "claude"
        path = write_jsonl(transcript_path(root, "s1"), conversation("s1", 3))
        if age_days:
            t = time.time() - age_days * 86_400
            os.utime(path, (t, t))
        if cleanup is not None:
            (root / "settings.json").write_text(json.dumps({"cleanupPeriodDays": cleanup}))
        return root, path

    def test_never_captured_then_captured(self, tmp_path, monkeypatch):
        other = tmp_path / "other"
        write_jsonl(transcript_path(other, "s9"), conversation("s9", 2))
        run("ingest", str(other))
        root, _ = self._root(tmp_path)
        monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
        warnings = run("status", "--json").json()["warnings"]
        assert [w["code"] for w in warnings] == ["never-captured"] and warnings[0]["files"] == 1
        assert "never captured" in run("status").stdout
        run("ingest")
        assert run("status", "--json").json()["warnings"] == []

    def test_transcripts_due_for_cleanup(self, tmp_path, monkeypatch):
        root, path = self._root(tmp_path, age_days=12, cleanup=14)
        monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(root))
        run("ingest")
        append(path, line(user("s1", 9, "one more")))
        t = time.time() - 12 * 86_400
        os.utime(path, (t, t))
        codes = [w["code"] for w in run("status", "--json").json()["warnings"]]
        assert codes == ["cleanup-risk"]
        assert "cleanupPeriodDays = 14" in run("status").stdout

    def test_stale_capture(self, tmp_path, cli_backend):
        from coditect_memory.ingest.health import capture_warnings
        from coditect_memory.settings import load_settings
        from coditect_memory.store import open_store

        root, path = self._root(tmp_path)
        run("ingest", str(root))
        append(path, line(user("s1", 9, "one more")))
        now = time.time()
        with open_store(load_settings(), readonly=True) as store:
            warnings = capture_warnings(store, root, now, now - 3 * 86_400)
            assert [w.code for w in warnings] == ["capture-stale"]
            assert "3 days" in warnings[0].message
            assert capture_warnings(store, root, now, now - 3600) == []
