"""`memory export` / `memory import`: a plain JSONL archive that imports back to an equal
store, with provenance on every line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run, run_proc
from .test_backup_support import build_store, install_store, status_at

_SAME = ("messages", "sessions", "projects", "by_source", "api_responses", "tokens",
         "first_message", "last_message", "schema_version")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("export-store"))


@pytest.fixture
def store(template, memory_home) -> Path:
    install_store(template, memory_home)
    return memory_home


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def at_home(home: Path, *args: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        return run(*args)


class TestRoundTrip:
    """export -> import -> export gives the same lines (provenance aside), the same
    messages, sessions, projects and token counts; importing twice stores nothing new."""

    def test_equal_store(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        summary = run("export", "--output", str(out), "--json").json()
        first = lines(out)
        assert summary["messages"] == len(first) == run("status", "--json").json()["messages"]
        other = tmp_path / "other-home"
        imported = at_home(other, "import", str(out), "--json").json()
        assert imported["messages_new"] == len(first) and imported["errors"] == 0
        a, b = run("status", "--json").json(), status_at(other)
        assert {k: a[k] for k in _SAME} == {k: b[k] for k in _SAME}
        sessions = run("sessions", "--json", "--limit", "1000").json()
        assert at_home(other, "sessions", "--json", "--limit", "1000").json() == sessions
        again = tmp_path / "again.jsonl"
        at_home(other, "export", "--output", str(again))
        second = lines(again)
        strip = [{k: v for k, v in d.items() if k != "provenance"} for d in first]
        assert [{k: v for k, v in d.items() if k != "provenance"} for d in second] == strip
        twice = at_home(other, "import", str(out), "--json").json()
        assert twice["messages_new"] == 0 and twice["duplicates"] == len(first)

    def test_every_line_has_identity_and_provenance(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = lines(out)
        kinds = {r["source_kind"] for r in rows}
        assert {"transcript", "history", "debug", "file_history"} <= kinds
        assert all(r["uid"] and r["provenance"]["file"] for r in rows)
        assert any("blob_text" in r for r in rows), "file versions carry their content"
        root = Path(rows[0]["provenance"]["root"])
        t = next(r for r in rows if r["source_kind"] == "transcript" and r.get("ext_id"))
        with open(root / t["provenance"]["file"], "rb") as f:
            f.seek(t["provenance"]["offset"])
            original = json.loads(f.readline())
        assert original["uuid"] == t["ext_id"] and original["sessionId"] == t["session_id"]


class TestFilters:
    """--project and --since select exactly the matching messages."""

    def test_project_and_since(self, store, tmp_path):
        everything = [json.loads(x) for x in run("export").stdout.splitlines()]
        project = next(r["project"] for r in everything if r["project"])
        only = [json.loads(x) for x in run("export", "--project", project).stdout.splitlines()]
        assert only == [r for r in everything if r["project"] == project]
        stamps = sorted(r["timestamp"] for r in everything if r["timestamp"])
        since = stamps[len(stamps) // 2]
        later = [json.loads(x) for x in run("export", "--since", since).stdout.splitlines()]
        assert later and [r["uid"] for r in later] == \
            [r["uid"] for r in everything if r["timestamp"] and r["timestamp"] >= since]
        r = run_proc("export", "--since", "yesterday-ish")
        assert r.code == 2 and "not a date" in r.stderr


class TestImportBadInput:
    """A bad line in an import file is recorded with its line number; the rest is stored."""

    def test_bad_lines(self, store, tmp_path):
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        text = out.read_text().splitlines()
        text.insert(3, "{not json")
        text.insert(5, json.dumps({"content": "no uid"}))
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(text) + "\n")
        other = tmp_path / "h"
        res = at_home(other, "import", str(bad), "--json").json()
        assert res["errors"] == 2 and res["messages_new"] == len(text) - 2
        errs = at_home(other, "errors", "--json").json()
        assert sorted(e["line"] for e in errs) == [4, 6]
        r = run_proc("import", str(tmp_path / "nope.jsonl"))
        assert r.code == 3 and "nothing to import" in r.stderr

    def test_extraction_reader_keeps_uids(self, store, tmp_path):
        """The generic reader (`ingest --format extraction`) reads an export too; it keeps
        each line's uid and source kind (lines without text it cannot store)."""
        out = tmp_path / "all.jsonl"
        run("export", "-o", str(out))
        rows = [r for r in lines(out) if r["content"]]
        other = tmp_path / "h"
        at_home(other, "ingest", "--format", "extraction", str(out), "--json")
        again = tmp_path / "again.jsonl"
        at_home(other, "export", "-o", str(again))
        got = {r["uid"]: r["source_kind"] for r in lines(again)}
        assert got == {r["uid"]: r["source_kind"] for r in rows}
