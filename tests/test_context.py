"""`memory context`: the token budget (counted by the real tokenizer), pinned memories always
in, references on every item, packs with ids and `context diff`; checkpoints.

Every test with the `history` fixture runs on both backends (`cli_backend`); the tokenizer's
runs once."""

from __future__ import annotations

import json

import pytest

from coditect_memory.context.tokens import TokenCounter

from .conftest import ingest_json, run, run_proc
from .memeval import build


@pytest.fixture
def history(cli_backend, tmp_path):
    h = build(tmp_path / "claude")
    ingest_json(h.root)
    return h


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def test_the_tokenizer_is_real_bpe(counter) -> None:
    assert counter.count("hello world") == 2
    assert counter.count("use uv, not pip") < len("use uv, not pip") / 2


@pytest.mark.parametrize("budget", [100, 300, 1000, 4000])
def test_pack_fits_the_budget_and_holds_every_pinned_memory(history, counter, budget) -> None:
    pins = [run("memories", "add", f"pinned rule {n}: run make lint before pushing", "-p", "webapp",
                "--pin", "--json").json() for n in range(2)]
    md = run("context", "-p", "webapp", "--budget", str(budget)).stdout
    assert counter.count(md) <= budget
    for p in pins:
        assert p["text"] in md
    assert md.startswith("# Memory of webapp")


def test_items_name_their_references_and_json_matches(history) -> None:
    out = run("context", "-p", "webapp", "--budget", "4000", "--format", "json").json()
    assert out["tokenizer"] == "cl100k_base" and out["tokens"] <= 4000 and out["id"]
    sections = {i["section"] for i in out["items"]}
    assert {"preference", "decision", "fact", "todo", "error_fix", "session"} <= sections
    for item in out["items"]:
        assert item["memory_id"] or item["session_id"]
        assert item["text"] in out["markdown"]
    # another project's planted items stay out
    assert "billing" not in out["markdown"].replace("billing-", "")


def test_cwd_finds_the_project_and_query_adds_excerpts(history) -> None:
    out = run("context", "--cwd", "/home/dev/billing/src/deep", "--query", "event bus",
              "--json").json()
    assert out["project_name"] == "billing"
    assert any(i["section"] == "excerpt" for i in out["items"])
    r = run_proc("context", "--cwd", "/nowhere/at/all")
    assert r.code == 4 and "memory ingest" in r.stderr


def test_diff_says_what_changed_since_the_last_pack(history) -> None:
    first = run("context", "diff", "-p", "webapp", "--json").json()
    assert first["before"] is None and first["added"]
    run("memories", "add", "The release train leaves on Thursdays", "-p", "webapp", "--pin")
    second = run("context", "diff", "-p", "webapp", "--json").json()
    assert second["before"] == first["after"]
    assert [i["text"] for i in second["added"]] == ["The release train leaves on Thursdays"]


def test_checkpoint_create_export_import_and_context_from_it(history, tmp_path) -> None:
    body = run("checkpoint", "create", "-p", "webapp", "--note", "before the refactor", "--json").json()
    assert body["format"] == "coditect-memory.checkpoint/1" and body["git"]["branch"] == "main"
    assert any("rate limiting" in t["text"] for t in body["todos"])
    listed = run("checkpoint", "list", "--json").json()
    assert [c["id"] for c in listed] == [body["id"]]
    out = tmp_path / "cp.json"
    run("checkpoint", "export", body["id"][:6], str(out))
    assert json.loads(out.read_text())["id"] == body["id"]
    assert run("checkpoint", "import", str(out), "--json").json() == {"id": body["id"], "imported": False}
    md = run("context", "--checkpoint", body["id"]).stdout
    assert md == body["pack"]["markdown"]
    tampered = json.loads(out.read_text())
    tampered["note"] = "changed"
    out.write_text(json.dumps(tampered))
    r = run_proc("checkpoint", "import", str(out))
    assert r.code == 2 and "does not match" in r.stderr
