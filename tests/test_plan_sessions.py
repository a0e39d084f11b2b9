"""A plan file (plans/<slug>.md) belongs to the session whose transcript carries its slug:
stored with that session and its project, on both backends; a plan no transcript names
stays without one, and of two sessions with the slug the one that called ExitPlanMode wins."""

from __future__ import annotations

from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

from .builders import conversation, sid, transcript_path, write_jsonl
from .conftest import ingest_json

CWD_B = "/home/dev/other"


def _with_slug(lines: list[dict], slug: str, plan_call: bool = False) -> list[dict]:
    out = [{**obj, "slug": slug} for obj in lines]
    if plan_call:  # the last answer calls ExitPlanMode
        out[-1]["message"]["content"].append({"type": "tool_use", "id": "toolu_plan",
                                              "name": "ExitPlanMode", "input": {"plan": "# Plan"}})
    return out


def _plan_sessions() -> dict[str, tuple[str | None, str | None]]:
    """Each plan's session and project path."""
    with open_store(load_settings()) as store:
        out = {}
        for m in store.export_messages():
            if m["type"] == "plan":
                out[m["source_file"].rsplit("/", 1)[-1]] = (m["session_id"], m["project"])
        return out


def test_plans_take_the_session_that_wrote_them(tmp_path, memory_home, cli_backend):
    root = tmp_path / "claude"
    a, b, c = sid(1), sid(2), sid(3)
    write_jsonl(transcript_path(root, a), _with_slug(conversation(a, 6), "quiet-river"))
    # two sessions with one slug (the second resumed the first): the one that planned
    write_jsonl(transcript_path(root, b), _with_slug(conversation(b, 6), "tall-tree"))
    write_jsonl(transcript_path(root, c, "-home-dev-other"),
                _with_slug(conversation(c, 6, cwd=CWD_B, day=1), "tall-tree", plan_call=True))
    (root / "plans").mkdir(parents=True)
    for name in ("quiet-river.md", "tall-tree.md", "quiet-river-agent-a1b2.md", "nobody.md"):
        (root / "plans" / name).write_text(f"# Plan {name}\n\n1. do it\n")
    out = ingest_json(root)
    assert out["errors"] == 0
    assert _plan_sessions() == {"quiet-river.md": (a, "/home/dev/webapp"),
                                "quiet-river-agent-a1b2.md": (a, "/home/dev/webapp"),
                                "tall-tree.md": (c, CWD_B), "nobody.md": (None, None)}
    assert ingest_json(root)["messages_new"] == 0  # and a re-run changes nothing
    assert _plan_sessions()["tall-tree.md"] == (c, CWD_B)
