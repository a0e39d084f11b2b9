"""Real Claude Code files from public projects (../shared/fixtures): every one is read
without an error, and a session replays like the original conversation."""

from __future__ import annotations

import json

from .conftest import FIXTURES, ingest_json, needs_fixtures, run

pytestmark = needs_fixtures


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_every_fixture_ingests_without_error():
    out = ingest_json(FIXTURES)
    assert out["errors"] == 0, run("errors").stdout
    assert out["messages_new"] == out["messages_read"] > 2000
    status = run("status", "--json").json()
    # only documentation, schemas and a statusline payload are unknown, and they are listed
    unknown = {p.rsplit("/", 1)[-1] for p in status["unknown_files"]}
    assert unknown == {"SOURCES.md", "README.md", "history.schema.json", "session.schema.json",
                       "statusline-test.json"}
    assert status["by_source"]["history"] == 2


def test_spotter_session_reads_like_the_original():
    ingest_json(FIXTURES)
    sid = "4d5611e5-241a-462a-8d15-5122611a9569"
    src = FIXTURES / "spotter/test/fixtures/transcripts" / f"{sid}.jsonl"
    original = _lines(src)
    show = run("show", "session", sid, "--json").json()
    assert show["session_id"] == sid
    assert show["project"] == "/home/USER/projects/spotter-worktrees/spotter-dov"
    msgs = show["messages"]
    main = [m for m in msgs if m["source_file"].endswith(f"{sid}.jsonl")]
    # every line of the original is there, at its line, in order
    assert {m["source_line"] for m in main} == set(range(1, len(original) + 1))
    prompts = [m["content"] for m in main if m["type"] == "user"]
    first_prompt = next(o["message"]["content"] for o in original
                        if o["type"] == "user" and isinstance(o["message"]["content"], str))
    assert first_prompt in prompts
    # the compaction boundary and its summary are kept
    assert any(m["type"] == "system" and "compacted" in m["content"].lower() for m in main)
    assert any(m["type"] == "compact_summary" for m in main)
    # the sub-agents (modern layout) belong to the same session, marked as sidechains
    subs = [m for m in msgs if "/subagents/" in m["source_file"]]
    assert subs and all(m["is_sidechain"] for m in subs)
    # tool calls carry their name and the results are matched to them
    uses = {m["tool_name"] for m in msgs if m["type"] == "tool_use"}
    assert {"Bash", "Read"} <= uses
    assert all(m["timestamp"].endswith("Z") for m in msgs if m["timestamp"])
    stamps = [m["timestamp"] for m in msgs if m["timestamp"]]
    assert stamps == sorted(stamps)


def test_tokens_counted_once_per_api_response():
    """One response spans several lines with the same message.id and requestId."""
    ingest_json(FIXTURES / "spotter")
    sid = "4d5611e5-241a-462a-8d15-5122611a9569"
    src = FIXTURES / "spotter/test/fixtures/transcripts" / f"{sid}.jsonl"
    seen, out_tokens = set(), 0
    for o in _lines(src):
        if o["type"] == "assistant":
            key = (o["message"]["id"], o.get("requestId"))
            if key not in seen:
                seen.add(key)
                out_tokens += o["message"]["usage"]["output_tokens"]
    main_only = run("show", "session", sid, "--json").json()
    assert main_only["output_tokens"] >= out_tokens  # plus the sub-agents' responses
    lines_sum = sum(o["message"]["usage"]["output_tokens"] for o in _lines(src) if o["type"] == "assistant")
    assert out_tokens < lines_sum  # the naive per-line sum would over-count


def test_argus_streamed_duplicate_counts_by_message_and_request():
    ingest_json(FIXTURES / "argus")
    s = run("status", "--json").json()
    # m1 appears under two requestIds (counted twice, like ccusage); m2 once
    assert s["api_responses"] == 3
    assert s["tokens"]["output"] == 5 + 5 + 8
    sessions = run("sessions", "--json").json()
    assert [x["session_id"] for x in sessions] == ["sess1"]
    assert sessions[0]["project"] == "/Users/fixture/proj"


def test_legacy_summary_and_flat_subagent_layout():
    root = FIXTURES / "claude-code-viewer/mock-global-claude-dir"
    ingest_json(root)
    show = run("show", "session", "fe5e1c67", "--json").json()
    assert show["messages"][0]["type"] == "summary"  # the leading v1.0.98 summary line
    assert show["title"].startswith("Empty Repo Setup")
    flat = [s for s in run("sessions", "--json").json() if s["session_id"].startswith("5c0375b4")]
    assert flat and flat[0]["project"] == "/path/to/Demo"


def test_history_prompt_is_linked_to_its_transcript_prompt():
    ingest_json(FIXTURES / "argus")
    msgs = run("show", "session", "sess1", "--json").json()["messages"]
    hist = [m for m in msgs if m["source_kind"] == "history"]
    assert len(hist) == 2
    linked = [m for m in hist if m["linked_uid"]]
    assert len(linked) == 1 and linked[0]["content"] == "hello there"
    assert hist[0]["source_line"] == 1 and hist[0]["source_file"].endswith("history.jsonl")


def test_reingest_is_a_noop_and_copies_dedup(tmp_path):
    first = ingest_json(FIXTURES)
    again = ingest_json(FIXTURES)
    assert again["files_changed"] == 0 and again["messages_new"] == 0
    # the same transcript copied under another project folder is stored once
    import shutil

    copy = tmp_path / "copy" / "projects" / "-other"
    copy.mkdir(parents=True)
    shutil.copy(FIXTURES / "argus/test/fixtures/projects/-Users-fixture-proj/sess1.jsonl", copy)
    out = ingest_json(tmp_path / "copy")
    assert out["messages_read"] > 0 and out["messages_new"] == 0
    assert out["duplicates"] == out["messages_read"]
    assert run("status", "--json").json()["messages"] == first["messages_new"]
