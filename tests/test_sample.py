"""The generated sample (`memory sample`): deterministic, covers every source kind, and its
truth is what the real ingest stores."""

from __future__ import annotations

import hashlib
import os

import orjson
import pytest

from coditect_memory.sample import generate

from .conftest import ingest_json, run

SESSIONS = 12


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("claude")
    return root, generate(root, sessions=SESSIONS, seed=7)


@pytest.fixture
def stored(sample):
    root, truth = sample
    out = ingest_json(root)
    return out, run("status", "--json").json(), truth


def _digest(root) -> dict[str, tuple[str, int]]:
    """Every file's (sha256, mtime) and every folder (empty ones too), by relative path."""
    out = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs:
            out[os.path.relpath(os.path.join(folder, name), root) + "/"] = ("", 0)
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = (hashlib.sha256(f.read()).hexdigest(),
                                                    os.stat(path).st_mtime_ns)
    return out


def test_same_seed_same_bytes(tmp_path):
    a = generate(tmp_path / "a", sessions=5, seed=3)
    b = generate(tmp_path / "b", sessions=5, seed=3)
    assert a == b
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    c = generate(tmp_path / "c", sessions=5, seed=4)
    assert c["tokens"] != a["tokens"]


# The bytes of a small sample, pinned: a change to the generator (new vocabulary, another
# random draw, a reordered write) changes them, and must then be made on purpose (update
# these after checking the new output, e.g. `memory sample DIR --sessions 8 --seed 3`).
# The truth changed last when a plan came to count in the session that wrote it.
PINNED_TREE = "ab278e019a5eb59d4943bb51ef703e8420b2a72da21d5e9d9d25b6ef50e77ee2"
PINNED_TRUTH = "5e54fcde890c20f1bb3d545cece2109573bca7b62e8513881c148fe33a99a8ee"


def test_output_is_pinned(tmp_path):
    truth = generate(tmp_path, sessions=8, seed=3)
    tree = "".join(f"{path} {sha} {mtime}\n"
                   for path, (sha, mtime) in sorted(_digest(tmp_path).items()))
    assert hashlib.sha256(tree.encode()).hexdigest() == PINNED_TREE
    truth_json = orjson.dumps(truth, option=orjson.OPT_SORT_KEYS)
    assert hashlib.sha256(truth_json).hexdigest() == PINNED_TRUTH


def test_messages_target_is_met(tmp_path):
    truth = generate(tmp_path, messages=3000)
    assert abs(truth["transcript_messages"] - 3000) <= 150
    assert truth["sessions"] >= 2


def test_every_kind_and_feature_is_present(sample):
    root, truth = sample
    assert set(truth["by_source"]) == {"transcript", "history", "todo", "plan", "debug",
                                       "file_history", "shell_snapshot", "session_env"}
    assert {"subagent_modern", "subagent_legacy", "compaction", "tool_results_file", "summary",
            "ai_title", "api_error", "surrogate", "history_only_session", "plan", "tasks",
            "rewind", "tool_error"} <= set(truth["features"])
    assert list(root.glob("projects/*/*/subagents/agent-*.meta.json"))
    assert list(root.glob("projects/*/agent-*.jsonl"))  # the legacy flat layout
    assert list(root.glob("projects/*/*/tool-results/*.txt"))
    assert truth["sessions"] == SESSIONS and truth["projects"] >= 6


def test_ingest_stores_exactly_the_truth(stored):
    out, status, truth = stored
    assert out["errors"] == 0 and out["warnings"] == 0, run("errors").stdout
    assert out["messages_read"] == out["messages_new"] == truth["messages"]
    assert status["messages"] == truth["messages"]
    assert status["by_source"] == truth["by_source"]
    assert status["projects"] == truth["projects"]
    assert status["api_responses"] == truth["api_responses"]
    assert status["files"] == truth["files"]
    assert status["files_with_errors"] == status["partial_files"] == 0
    for key in ("input", "cache_read", "cache_write"):
        assert status["tokens"][key] == truth["tokens"][key], key


def test_sessions_are_derived_as_written(stored):
    _, _, truth = stored
    rows = {s["session_id"]: s for s in run("sessions", "--json", "--limit", "10000").json()}
    for sid, t in truth["per_session"].items():
        s = rows[sid]
        assert s["message_count"] == t["messages"], sid
        assert s["started_at"] == t["started_at"], sid
        if t["history_only"]:
            continue
        assert (s["project"], s["git_branch"], s["version"], s["ended_at"]) == \
            (t["project"], t["git_branch"], t["version"], t["ended_at"]), sid
        assert s["tool_call_count"] == t["tool_calls"], sid
        # typed prompts only: not tool-injected text, not sub-agent task prompts, and a
        # history line linked to its transcript prompt (slash command, paste) counts once
        assert s["prompt_count"] == t["prompts"], sid
        assert s["error_count"] == t["error_rows"], sid
        assert (s["input_tokens"], s["cache_read_tokens"], s["cache_write_tokens"]) == \
            (t["input_tokens"], t["cache_read_tokens"], t["cache_write_tokens"]), sid


def test_second_ingest_finds_nothing_new(stored, sample):
    again = ingest_json(sample[0])
    assert again["messages_new"] == 0 and again["errors"] == 0


def test_output_tokens_count_the_final_line(stored):
    """A streamed response repeats a growing usage; the final line's output count is the truth."""
    _, status, truth = stored
    assert status["tokens"]["output"] == truth["tokens"]["output"]


def test_no_session_that_was_never_written(stored):
    """A project's memory notes (projects/<slug>/memory/MEMORY.md) are no session."""
    _, status, truth = stored
    assert status["sessions"] == truth["sessions_in_store"]
