"""Issue 15, item 8 leftovers: `memory ingest FILE.jsonl` reads that one transcript, and an
undated JSON document (a workflow run) is dated by the time inside it, not its mtime."""

from __future__ import annotations

import json
import os

from coditect_memory.sources.documents import inner_ts
from coditect_memory.timeutil import parse_ts

from . import builders as b
from .conftest import run, run_proc


def test_one_transcript_file_is_read_as_a_transcript(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "home"))
    s = b.sid(1)
    path = b.write_jsonl(b.transcript_path(tmp_path / "claude", s), b.conversation(s, 6, tools=True))
    b.write_jsonl(b.transcript_path(tmp_path / "claude", b.sid(2)), b.conversation(b.sid(2), 4))
    out = run("ingest", str(path), "--json").json()
    assert out["files_seen"] == 1 and out["errors"] == 0
    sessions = run("sessions", "--json").json()
    assert [x["session_id"] for x in sessions] == [s]  # the other file was not read
    assert sessions[0]["input_tokens"] > 0 and sessions[0]["project"] == b.CWD
    assert run("ingest", str(path), "--json").json()["messages_new"] == 0  # incremental
    monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "whole"))  # as the folder reads it
    run("ingest", str(tmp_path / "claude"), "--json")
    whole = next(x for x in run("sessions", "--json").json() if x["session_id"] == s)
    assert whole == sessions[0] and out["messages_new"] == whole["message_count"]


def test_another_kind_of_file_is_refused_in_one_line(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    r = run_proc("ingest", str(f), env={"MEMORY_HOME": str(tmp_path / "home")})
    assert r.code == 3 and ".jsonl transcript" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "home" / "memory.db").exists()


def test_a_workflow_record_takes_its_own_date(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMORY_HOME", str(tmp_path / "home"))
    s = b.sid(3)
    root = tmp_path / "claude"
    b.write_jsonl(b.transcript_path(root, s), b.conversation(s, 2))
    wf = root / "projects" / "-home-dev-webapp" / s / "subagents" / "workflows" / "wf_1.json"
    wf.parent.mkdir(parents=True)
    wf.write_text(json.dumps({"runId": "wf_1", "status": "completed", "workflowName": "sweep",
                              "timestamp": "2025-06-28T09:00:00.000Z", "durationMs": 2000}))
    os.utime(wf, (2_000_000_000, 2_000_000_000))  # a copy made in 2033
    run("ingest", str(root), "--json")
    found = run("search", "type:workflow", "--json").json()["results"]
    assert [r["timestamp"] for r in found] == ["2025-06-28T09:00:00.000Z"]


def test_inner_ts_takes_the_latest_stated_time():
    doc = {"version": 1, "entries": [{"created": "2025-11-20T07:47:24.410Z",
                                      "modified": "2025-11-20T09:41:39.905Z"},
                                     {"created": "2025-11-21T10:00:00Z", "firstPrompt": "x"}]}
    assert inner_ts(doc) == parse_ts("2025-11-21T10:00:00Z")
    assert inner_ts({"agentType": "reviewer"}) is None
    assert inner_ts({"timestamp": "not a date", "n": [1, 2]}) is None
