"""The second ranking stage (search/rerank.py) through `memory search --json`, on both
backends: a question gets the answer after the prompt or failed tool call it matches (words
alone get only matches), lifted answers obey the filters, "when did X start" puts a session's
first mention first. Keyword mode: the same stage runs in hybrid (tests/eval measures it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .builders import assistant, conversation, sid, transcript_path, user, write_jsonl
from .conftest import ingest_json, run

REDIS, PYTEST, MIGRATION = sid(701), sid(702), sid(703)
ANSWER = "docker-compose maps it to host port 6380, because 6379 is taken on your machine."
FIX = "Added pythonpath = [\"src\"] under [tool.pytest.ini_options]; collection works."


def failed_call(session: str, i: int, text: str) -> dict:
    """A tool result that failed (is_error): indexed with level "error"."""
    return {**user(session, i, ""), "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": f"toolu_{session[-6:]}_{i - 1}", "is_error": True,
         "content": text}]}}


@pytest.fixture
def claude(tmp_path: Path) -> Path:
    root = tmp_path / "claude"
    write_jsonl(transcript_path(root, REDIS), [
        user(REDIS, 0, "redis connection refused when I start the app locally"),
        assistant(REDIS, 1, ANSWER)])
    write_jsonl(transcript_path(root, PYTEST), [
        user(PYTEST, 0, "run the tests"),
        assistant(PYTEST, 1, "Running them.", tool=True),
        failed_call(PYTEST, 2, "ModuleNotFoundError: No module named 'invoicing'"),
        assistant(PYTEST, 3, FIX)])
    write_jsonl(transcript_path(root, MIGRATION), [
        user(MIGRATION, 0, "the migration is failing on CI"),
        assistant(MIGRATION, 1, "Looking at it."),
        user(MIGRATION, 2, "migration failing again: the migration keeps failing, the failing "
                           "migration blocks the deploy", day=3),
        assistant(MIGRATION, 3, "Fixed for good.", day=3)])
    for n in range(8):  # other sessions, so the planted ones are a few among many
        write_jsonl(transcript_path(root, sid(800 + n)), conversation(sid(800 + n), 20, day=n))
    return root


TEXT = {(REDIS, 0): "redis connection refused", (REDIS, 1): "docker-compose maps it",
        (PYTEST, 1): "Running them", (PYTEST, 2): "ModuleNotFoundError", (PYTEST, 3): "Added pythonpath",
        (MIGRATION, 0): "the migration is failing on CI", (MIGRATION, 2): "migration failing again"}


def uid_of(session: str, i: int) -> str:
    """The planted message a result is, by its session and the start of its text."""
    return f"{session}/{TEXT[(session, i)]}"


def uids(*args: str) -> list[str]:
    out = run("search", *args, "--mode", "keyword", "--json", "--limit", "10")
    assert out.code == 0, out.stderr
    found = []
    for r in out.json()["results"]:
        known = [k for k, text in TEXT.items() if k[0] == r["session_id"] and text in r["snippet"]]
        found.append(uid_of(*known[0]) if known else r["uid"])
    return found


def test_a_question_gets_the_answer_to_the_prompt_it_matches(cli_backend, claude):
    ingest_json(claude)
    got = uids("redis connection refused locally")
    # The answer shares no word with the question: only its place after the prompt finds it.
    assert got[:2] == [uid_of(REDIS, 0), uid_of(REDIS, 1)]


def test_a_failed_tool_call_gets_the_fix_after_it(cli_backend, claude):
    ingest_json(claude)
    got = uids("ModuleNotFoundError No module named invoicing")
    assert uid_of(PYTEST, 2) in got[:2] and uid_of(PYTEST, 3) in got[:3]
    assert uid_of(PYTEST, 1) not in got  # the reply before the error is not its answer


def test_words_get_only_messages_with_them(cli_backend, claude):
    ingest_json(claude)
    assert uids("redis refused") == [uid_of(REDIS, 0)]


def test_lifted_answers_obey_the_filters(cli_backend, claude):
    ingest_json(claude)
    assert uids("redis connection refused locally", "--type", "user") == [uid_of(REDIS, 0)]
    assert uids("redis connection refused locally", "--since", "2030-01-01") == []


def test_when_did_it_start_puts_the_first_mention_first(cli_backend, claude):
    ingest_json(claude)
    # The later message repeats the words and wins on BM25 alone ...
    assert uids("migration failing")[0] == uid_of(MIGRATION, 2)
    # ... but the question asks when it began.
    assert uids("when did the migration start failing")[0] == uid_of(MIGRATION, 0)


def test_every_door_gets_the_same_ranked_list(cli_backend, claude):
    """--json, the API, MCP and the context pack call the same action: what it returns for a
    question, the answer included, is what --json prints, uncut and in order."""
    from coditect_memory.actions.search import SearchRequest, search
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store

    ingest_json(claude)
    q = "redis connection refused locally"
    cli = run("search", q, "--mode", "keyword", "--json", "--limit", "10").json()["results"]
    with open_store(load_settings()) as store:
        action = search(store, load_settings(), SearchRequest(query=q, mode="keyword", limit=10)).results
    assert [r["uid"] for r in cli] == [r["uid"] for r in action]
    assert [r["score"] for r in cli] == sorted((r["score"] for r in cli), reverse=True)
