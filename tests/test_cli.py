"""The `memory` command as a person and a script use it: the JSON contract, help on every
command, one-line errors with stable exit codes and no tracebacks."""

from __future__ import annotations

import pytest

from coditect_memory.cli.main import COMMANDS

from .conftest import FIXTURES, ingest_json, needs_fixtures, run, run_proc

# The behaviour is the backend's contract: every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("cli_backend")

ROOT = FIXTURES / "claude-code-viewer/mock-global-claude-dir"


class TestHelp:
    """Every command explains itself."""

    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_every_command_has_help(self, name):
        out = run(name, "--help").stdout
        assert "Usage:" in out and len(out.splitlines()) >= 4

    def test_top_level_help_lists_commands(self):
        out = run("--help").stdout
        for name in COMMANDS:
            assert name in out


@needs_fixtures
class TestContract:
    """The JSON shapes other features and external checks rely on."""

    def test_ingest_json(self):
        out = ingest_json(ROOT)
        for key in ("run_id", "files_seen", "messages_read", "messages_new", "duplicates", "errors"):
            assert isinstance(out[key], int), key
        assert out["messages_new"] == out["messages_read"] > 0

    def test_status_json(self):
        ingest_json(ROOT)
        s = run("status", "--json").json()
        for key in ("messages", "sessions", "projects"):
            assert isinstance(s[key], int) and s[key] > 0
        assert s["by_source"]["transcript"] == s["messages"]
        assert sum(s["by_source"].values()) == s["messages"]

    def test_show_session_json(self):
        ingest_json(ROOT)
        show = run("show", "session", "1af7fc5e-8455-4414-9ccd-011d40f70b2a", "--json").json()
        assert show["session_id"] == "1af7fc5e-8455-4414-9ccd-011d40f70b2a"
        assert show["project"] == "/path/to/Demo"
        msgs = show["messages"]
        assert len(msgs) == 29
        for m in msgs:
            assert {"uid", "type", "role", "content", "timestamp", "source_kind", "source_file",
                    "source_line"} <= m.keys()
            assert m["source_kind"] == "transcript"
            assert m["source_file"] == "projects/sample-project/1af7fc5e-8455-4414-9ccd-011d40f70b2a.jsonl"
            assert m["timestamp"].endswith("Z") and "T" in m["timestamp"]
        assert [m["timestamp"] for m in msgs] == sorted(m["timestamp"] for m in msgs)
        assert {m["source_line"] for m in msgs} == set(range(1, 30))
        assert len({m["uid"] for m in msgs}) == len(msgs)
        # tool inputs and outputs are part of the searchable content
        assert any(m["type"] == "tool_use" and m["content"].startswith("{") for m in msgs)
        assert any(m["type"] == "tool_result" and m["content"] for m in msgs)

    def test_session_prefix_and_text_view(self):
        ingest_json(ROOT)
        out = run("show", "session", "fe5e1c67").stdout
        assert "Empty Repo Setup" in out
        assert "you " in out and "claude " in out and "→ " in out

    def test_sessions_filter_by_project_name_or_path(self):
        ingest_json(ROOT)
        by_name = run("sessions", "--project", "Demo", "--json").json()
        by_path = run("sessions", "--project", "/path/to/Demo", "--json").json()
        assert by_name == by_path and len(by_name) == 3
        assert run("sessions", "--project", "nope", "--json").json() == []

    def test_runs_and_errors_json(self):
        ingest_json(ROOT)
        ingest_json(ROOT)
        runs = run("runs", "--json").json()
        assert [r["run_id"] for r in runs] == [2, 1]
        assert runs[0]["status"] == "completed" and runs[0]["files_changed"] == 0
        assert run("errors", "--json").json() == []

    def test_doctor_ok(self):
        ingest_json(ROOT)
        out = run("doctor", "--json").json()
        assert out["ok"] is True and out["store"] == []


class TestErrors:
    """User mistakes get one line on stderr, a stable exit code, never a traceback."""

    def test_missing_root(self, tmp_path):
        r = run_proc("ingest", str(tmp_path / "nope"), "--json")
        assert r.code == 3 and r.stdout == ""
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
        assert "no such file or folder" in r.stderr

    def test_unknown_session(self, tmp_path):
        run("ingest", str(tmp_path), "--json")
        r = run_proc("show", "session", "does-not-exist")
        assert r.code == 4 and "memory sessions" in r.stderr and "Traceback" not in r.stderr

    def test_no_store_yet(self, cli_backend, request, monkeypatch):
        if cli_backend == "postgresql":  # a database without memory's tables in it
            monkeypatch.setenv("MEMORY_DATABASE_URL",
                               request.getfixturevalue("pg_server").database(empty=True))
        r = run_proc("status")
        assert r.code == 12 and "memory ingest" in r.stderr and "Traceback" not in r.stderr

    def test_bad_option(self):
        r = run_proc("ingest", "--format", "nope")
        assert r.code == 2 and "Traceback" not in r.stderr
