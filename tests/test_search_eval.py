"""The search evaluation set (tests/eval, scored by benchmarks/eval_search.py) says what it
claims: every question names evidence that exists, every kind is covered, and a
"paraphrase" question shares no content word with its evidence (so keyword search cannot
find it by its words)."""

from __future__ import annotations

import json
from pathlib import Path

from coditect_memory.search.index import analyzer
from coditect_memory.settings import DEFAULT_STOP_WORDS

EVAL = Path(__file__).with_name("eval") / "conversations.json"
KINDS = {"single_fact", "two_sessions", "temporal", "preference", "error_fix", "paraphrase"}


def load() -> dict:
    return json.loads(EVAL.read_text())


def stems(text: str) -> set[str]:
    words = " ".join(w for w in text.split() if w.lower().strip("?,.'") not in DEFAULT_STOP_WORDS)
    return set(analyzer().analyze(words))


def test_evidence_exists_and_kinds_are_covered():
    data = load()
    turns = {s["key"]: len(s["turns"]) for s in data["sessions"]}
    assert len(turns) == len(data["sessions"]), "session keys are unique"
    for q in data["questions"]:
        assert q["kind"] in KINDS, q
        assert q["evidence"], q
        assert all(0 <= i < turns[k] for k, i in q["evidence"]), q
    counts = {k: sum(q["kind"] == k for q in data["questions"]) for k in KINDS}
    assert min(counts.values()) >= 4, counts


def test_two_session_questions_need_two_sessions():
    for q in load()["questions"]:
        if q["kind"] == "two_sessions" and len({k for k, _ in q["evidence"]}) < 2:
            # the same session's decision and its implementation, asked together
            assert len(q["evidence"]) >= 2, q


def test_paraphrases_share_no_word_with_their_evidence():
    data = load()
    text = {(s["key"], i): t for s in data["sessions"] for i, (_, t) in enumerate(s["turns"])}
    for q in data["questions"]:
        if q["kind"] == "paraphrase":
            shared = {w for k, i in q["evidence"] for w in stems(q["q"]) & stems(text[(k, i)])}
            assert not shared, (q["q"], shared)
