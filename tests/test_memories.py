"""Memories: extraction from planted histories, consolidation, the CLI's hand edits, decay
and archival, `memory related`.

Every test with the `history` fixture runs on both backends (`cli_backend`); the pure rule
tests (no store) run once."""

from __future__ import annotations

import time

import pytest

from coditect_memory.memories.extract import norm
from coditect_memory.memories.lifecycle import extract
from coditect_memory.store import open_store
from coditect_memory.store.protocol.memories import MemoryDraft

from .conftest import ingest_json, run, run_proc
from .memeval import build


@pytest.fixture
def history(cli_backend, tmp_path):
    h = build(tmp_path / "claude")
    ingest_json(h.root)
    return h


def _all(status: str = "all") -> list[dict]:
    return run("memories", "list", "--status", status, "--limit", "1000", "--json").json()


def test_every_planted_kind_is_extracted_with_its_evidence(history) -> None:
    mems = _all()
    for p in history.planted:
        hits = [m for m in mems if m["type"] == p.kind and p.evidence in m["text"].lower()
                and m["project_name"] == p.project]
        assert hits, f"{p.kind} {p.evidence!r} of {p.project} not extracted"
        shown = run("memories", "show", str(hits[0]["id"]), "--json").json()
        assert shown["evidence"] and shown["evidence"][0]["uid"]


def test_a_completed_todo_is_done_and_an_open_one_active(history) -> None:
    todos = {m["text"]: m["status"] for m in _all() if m["type"] == "todo"}
    assert todos["Write the changelog"] == "done"
    assert todos["Add rate limiting to the webapp login endpoint"] == "active"


def test_extraction_is_incremental_and_consolidates(history, settings) -> None:
    before = _all()
    with open_store(settings) as store:
        again = extract(store, settings.memories)
        assert again.messages == 0  # the watermark: nothing read twice
        # the same preference seen again: reinforced, evidence added, no second memory
        pref = next(m for m in before if "use uv, not pip" in m["text"].lower())
        draft = MemoryDraft(type="preference", text=pref["text"] + " ", norm=norm(pref["text"]),
                            project_id=store.project_ids(pref["project"])[0],
                            evidence=[("u-later", "s-later", int(time.time() * 1000))])
        assert store.put_memories([draft]) == 0
        after = store.memory(pref["id"])
        assert after is not None and after["seen_count"] == pref["seen_count"] + 1
        assert after["importance"] > pref["importance"] - 1e-9
        assert any(e["uid"] == "u-later" for e in store.memory_evidence(pref["id"]))
    assert len(_all()) == len(before)


def test_add_pin_edit_forget_from_the_cli(history) -> None:
    added = run("memories", "add", "Deploys go through the staging cluster first", "-p", "webapp",
                "-t", "fact", "--json").json()
    assert added["origin"] == "user" and added["project_name"] == "webapp"
    mid = str(added["id"])
    assert run("memories", "pin", mid, "--json").json()["pinned"] is True
    assert [m["id"] for m in run("memories", "list", "--pinned", "--json").json()] == [added["id"]]
    edited = run("memories", "edit", mid, "--text", "Deploys go through staging, then canary",
                 "--json").json()
    assert edited["text"] == "Deploys go through staging, then canary"
    assert run("memories", "forget", mid, "--json").json()["status"] == "forgotten"
    assert added["id"] not in [m["id"] for m in _all("active")]


def test_user_errors_are_one_line_with_their_exit_code(history) -> None:
    r = run_proc("memories", "show", "999999")
    assert r.code == 4
    r = run_proc("memories", "edit", "1", "--importance", "3")
    assert r.code == 2
    r = run_proc("memories", "add", "x", "-p", "no-such-project")
    assert r.code == 4


def test_decay_archives_old_extracted_memories_never_pinned_or_added(history, settings) -> None:
    with open_store(settings) as store:
        mems = _all("active")
        pinned = next(m for m in mems if m["type"] == "decision")
        store.update_memory(pinned["id"], pinned=True)
        added = run("memories", "add", "keep me", "--json").json()
        far = int(time.time() * 1000) + 50 * 365 * 86_400_000  # fifty years on
        assert store.decay_memories(far, settings.memories.half_life_days,
                                    settings.memories.archive_below) == 0  # nothing went on
        for name in ("webapp", "billing"):  # work goes on in both projects, fifty years on
            store.put_memories([MemoryDraft(type="fact", text=f"new {name}", norm=f"new {name}",
                                            project_id=store.project_ids(name)[0],
                                            evidence=[(f"u-{name}", "s", far)])])
        archived = store.decay_memories(far, settings.memories.half_life_days,
                                        settings.memories.archive_below)
    assert archived > 0
    active = {m["text"] for m in _all("active")}
    assert active == {pinned["text"], added["text"], "new webapp", "new billing"}


def test_related_names_memories_sessions_and_neighbours(history) -> None:
    out = run("related", "refunds.py", "--json").json()
    assert any(m["type"] == "error_fix" for m in out["memories"])
    assert out["sessions"] and out["sessions"][0]["session_id"]
    r = run_proc("related", "nothing-known.xyz")
    assert r.code == 4 and "nothing is known" in r.stderr


def test_precision_of_preferences_and_decisions(history) -> None:
    """Every extracted preference and decision is one that was planted (filler says none)."""
    planted = [p.evidence for p in history.planted if p.kind in ("preference", "decision")]
    for m in _all():
        if m["type"] in ("preference", "decision"):
            assert any(e in m["text"].lower() for e in planted), m["text"]


def test_a_compact_summary_gives_its_pending_tasks_and_decisions() -> None:
    from coditect_memory.memories.extract import Extractor
    from coditect_memory.store.protocol.memories import ExtractRow

    text = ("This session is being continued from a previous conversation.\n\nAnalysis:\n"
            "1. Found the bug in the retry loop.\n\nPending tasks:\n- Add a test for the retry cap\n"
            "- Update the changelog\n\nKey decisions:\n- Retries stop after 5 attempts\n\nCurrent work:\n- x\n")
    row = ExtractRow(1, "u1", "s1", 3, "transcript", "compact_summary", None, text, 0, None, None,
                     0, 1, 0)  # stored as meta: Claude Code injects it
    got = {(d.type, d.text) for d in Extractor().feed([row])}
    assert got == {("todo", "Add a test for the retry cap"), ("todo", "Update the changelog"),
                   ("decision", "Retries stop after 5 attempts")}


def test_a_repeated_draft_is_its_own_and_a_fix_adds_files_to_its_own_only() -> None:
    """Drafts of a text seen before reuse its clip, norm and entities (Extractor._known):
    an error_fix adds its files to that draft's entities, never to a later draft's."""
    import orjson

    from coditect_memory.memories.extract import Extractor
    from coditect_memory.store.protocol.memories import ExtractRow

    def call(i: int, tool: str, args: dict) -> ExtractRow:
        return ExtractRow(i, f"u{i}", "s1", 3, "transcript", "tool_use", None,
                          orjson.dumps(args).decode(), i, tool, f"t{i}", 0, 0, 0)

    def result(i: int, call_id: int, error: int) -> ExtractRow:
        return ExtractRow(i, f"u{i}", "s1", 3, "transcript", "tool_result", None,
                          "FAILED test_x - AssertionError" if error else "ok", i, "Bash",
                          f"t{call_id}", error, 0, 0)

    ex = Extractor()
    drafts = ex.feed([call(1, "Bash", {"command": "pytest -x"}), result(2, 1, 1),
                      call(3, "Edit", {"file_path": "src/app.py"}),
                      call(4, "Bash", {"command": "pytest -x"}), result(5, 4, 0),
                      call(6, "Bash", {"command": "pytest -x"})])
    runs = [d for d in drafts if d.type == "pattern"]
    fix = next(d for d in drafts if d.type == "error_fix")
    assert len(runs) == 3 and {d.text for d in runs} == {"Runs `pytest -x`"}
    assert all(d.entities == [("command", "pytest"), ("package", "pytest")] for d in runs)
    assert ("file", "src/app.py") in fix.entities
    assert len({id(d.entities) for d in drafts}) == len(drafts)


def test_a_command_that_passes_silently_after_a_fix_is_an_error_fix(cli_backend, tmp_path) -> None:
    """A success with no output (a linter that prints nothing) still pairs with the failure
    before it: the store gives the rules a result's call and is_error, not only its text."""
    import orjson

    from tests.builders import line, sid, user

    from .memeval import _tool_result, _tool_use

    session, cwd = sid(7), "/home/dev/webapp"
    edit = {"file_path": f"{cwd}/src/long_lines.py", "old_string": "a", "new_string": "b"}
    lines = [user(session, 0, "make the linter happy", cwd),
             _tool_use(session, 1, "Bash", {"command": "make lint"}, cwd, 0),
             _tool_result(session, 2, "E501 line too long (120 > 88)", True, cwd, 0),
             _tool_use(session, 3, "Edit", edit, cwd, 0),
             _tool_result(session, 4, "The file has been updated.", False, cwd, 0),
             _tool_use(session, 5, "Bash", {"command": "make lint"}, cwd, 0),
             _tool_result(session, 6, "", False, cwd, 0)]  # exit 0, nothing printed
    path = tmp_path / "claude" / "projects" / cwd.replace("/", "-") / f"{session}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(line(o) for o in lines))
    assert orjson.loads(path.read_bytes().splitlines()[-1])["message"]["content"][0]["content"] == ""
    ingest_json(path.parents[2])
    fixes = [m for m in _all() if m["type"] == "error_fix"]
    assert [m["text"] for m in fixes] == [
        "`make lint` failed (E501 line too long (120 > 88)); it passed after editing `long_lines.py`"]


def test_a_decision_is_found_whatever_its_case_or_alphabet() -> None:
    """The rules look for a decision only in answers holding one of its words
    (`_may_decide`): that finds what the regex finds, in any case, and in text beyond ASCII,
    where re.I matches 'ſ' as 's'."""
    from coditect_memory.memories.extract import _DECISION, Extractor
    from coditect_memory.store.protocol.memories import ExtractRow

    texts = ["We Decided to keep the queue.", "LET'S GO WITH Redis streams.", "lets use uv here.",
             "We'll switch to ruff for linting.", "We will keep the old API.", "Going with plan B.",
             "We chose SQLite.", "Settled on zstd level 3.", "Décision prise: we decided to ship.",
             "We ſettled on the ſmaller model.", "Looks done; the tests pass.", "We will see.",
             "Let me check the logs first."]
    for n, text in enumerate(texts):
        row = ExtractRow(n, f"u{n}", "s1", 3, "transcript", "assistant", "assistant", text, n,
                         None, None, 0, 0, 0)
        found = [d.type for d in Extractor().feed([row])]
        assert found == (["decision"] if _DECISION.search(text) else []), text
    assert sum(bool(_DECISION.search(t)) for t in texts) == 10


def test_list_query_matches_words_of_the_text(history) -> None:
    got = run("memories", "list", "-q", "UV pip", "--json").json()
    assert got and all("uv" in m["text"].lower() and "pip" in m["text"].lower() for m in got)
    assert run("memories", "list", "-q", "50%_off", "--json").json() == []
