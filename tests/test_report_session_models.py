"""`report session`'s models: most responses first, ties by model name, the same order on
both backends (an order the database picks could differ between SQLite and PostgreSQL)."""

from __future__ import annotations

from .builders import assistant, sid, transcript_path, user, write_jsonl
from .conftest import ingest_json, run


def test_models_with_as_many_responses_come_in_name_order(tmp_path, memory_home, cli_backend):
    root = tmp_path / "claude"
    rows = [user(sid(1), 0, "compare the two models")]
    for i, model in enumerate(["claude-sonnet-4-5", "claude-haiku-4-5", "claude-sonnet-4-5",
                               "claude-haiku-4-5", "claude-opus-4-6", "claude-opus-4-6",
                               "claude-opus-4-6"], start=1):
        row = assistant(sid(1), i, f"answer {i}")
        row["message"]["model"] = model
        rows.append(row)
    write_jsonl(transcript_path(root, sid(1)), rows)
    ingest_json(root)
    models = run("report", "session", sid(1), "--json").json()["models"]
    assert [(m["model"], m["responses"]) for m in models] == [
        ("claude-opus-4-6", 3), ("claude-haiku-4-5", 2), ("claude-sonnet-4-5", 2)]
