"""`memory site --out DIR`: a browsable static archive, checked as files (every session has a
page, every link resolves, search.json lists every session), incrementally (a re-run writes
nothing; one new message rewrites that session's page and its project page only), and in
headless Chromium (the index's search box filters)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from coditect_memory.sample import generate

from . import builders as b
from .conftest import ingest_json, run, run_proc

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "site"
MINE = b.sid(91)
RESUMED = b.sid(92)  # continues MINE: its first message's parent is in MINE
SPAWNER = b.sid(93)  # runs two sub-agents: one in each transcript layout
MODERN, LEGACY = "a1b2c3", "d4e5f6a7"


def _sub_agent(agent: str, start: int, prompt: str) -> list[dict]:
    """A sub-agent's transcript lines: the parent's sessionId, isSidechain and agentId."""
    lines = [b.user(SPAWNER, start, prompt), b.assistant(SPAWNER, start + 1, f"{agent} reporting: done")]
    for line in lines:
        line.update(isSidechain=True, agentId=agent)
    return lines


def _write_sub_agents(root: Path) -> None:
    project = b.transcript_path(root, SPAWNER).parent
    b.write_jsonl(b.transcript_path(root, SPAWNER), b.conversation(SPAWNER, 4, tools=True))
    b.write_jsonl(project / SPAWNER / "subagents" / f"agent-{MODERN}.jsonl",
                  _sub_agent(MODERN, 100, "Survey the test layout and report"))
    (project / SPAWNER / "subagents" / f"agent-{MODERN}.meta.json").write_text(json.dumps(
        {"agentType": "Explore", "description": "Survey the tests", "toolUseId": "toolu_1"}))
    b.write_jsonl(project / f"agent-{LEGACY}.jsonl",
                  _sub_agent(LEGACY, 200, "Review the parser diff for regressions"))


def _snapshot(out: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(out)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in out.rglob("*") if p.is_file() and p.name != ".site-manifest.json"}


def _links(page: Path) -> list[str]:
    return [h for h in re.findall(r'href="([^"#]+)"', page.read_text()) if "://" not in h]


@pytest.fixture
def archive(memory_home, tmp_path, cli_backend):
    root = tmp_path / "claude"
    generate(root, sessions=12, seed=7)
    b.write_jsonl(b.transcript_path(root, MINE), b.conversation(MINE, 6))
    resumed = b.conversation(RESUMED, 2, day=1)
    resumed[0]["parentUuid"] = b.uid_of(MINE, 5)
    b.write_jsonl(b.transcript_path(root, RESUMED), resumed)
    _write_sub_agents(root)
    assert ingest_json(root)["errors"] == 0
    return root, tmp_path / "site"


def test_every_session_has_a_page_and_links_resolve(archive):
    root, out = archive
    got = run("site", "--out", str(out), "--json").json()
    sessions = run("sessions", "--limit", "1000", "--json").json()
    ids = {s["session_id"] for s in (sessions["sessions"] if isinstance(sessions, dict) else sessions)}
    assert got["sessions"] == len(ids) > 10 and got["out"] == str(out)
    agent_pages = list((out / "sessions").glob("*--agent-*.html"))
    assert got["written"] == got["sessions"] + got["projects"] + 3 + len(agent_pages)
    assert got["unchanged"] == 0
    search = json.loads((out / "search.json").read_text())
    assert {e["id"] for e in search} == ids
    pages = [out / "index.html", *(out / "projects").glob("*.html"), *(out / "sessions").glob("*.html")]
    assert len(list((out / "sessions").glob("*.html"))) - len(agent_pages) == len(ids)
    for page in pages:
        for href in _links(page):
            assert (page.parent / href).resolve().is_file(), f"{page.name}: {href} points nowhere"
    for e in search:
        assert (out / e["href"]).is_file()
    mine = (out / "sessions" / f"{MINE}.html").read_text()
    assert "Conversation" in mine and 'href="../site.css"' in mine and "../index.html" in mine
    assert f'class="child" href="{RESUMED}.html"' in mine
    assert f'class="parent" href="{MINE}.html"' in (out / "sessions" / f"{RESUMED}.html").read_text()
    assert "prefers-color-scheme: dark" in (out / "site.css").read_text()


def test_sub_agents_link_to_their_parent_and_the_parent_lists_them(archive):
    """From the transcripts' own marks (isSidechain, agentId), in both layouts; sub-agents
    are stored within the session that ran them, not as sessions with a parent."""
    root, out = archive
    run("site", "--out", str(out))
    parent = (out / "sessions" / f"{SPAWNER}.html").read_text()
    for agent in (MODERN, LEGACY):
        page = out / "sessions" / f"{SPAWNER}--agent-{agent}.html"
        assert f'class="agent" href="{page.name}"' in parent
        text = page.read_text()
        assert f'class="parent" href="{SPAWNER}.html"' in text and f"{agent} reporting: done" in text
        for href in _links(page):
            assert (page.parent / href).resolve().is_file(), f"{page.name}: {href} points nowhere"
    assert "Explore: Survey the tests" in parent  # the modern layout's sidecar names it
    assert "Review the parser diff for regressions" in parent  # the legacy one: its prompt
    sessions = {s["session_id"] for s in run("sessions", "--limit", "1000", "--json").json()}
    assert SPAWNER in sessions and not any(MODERN in s or LEGACY in s for s in sessions)


def test_rerun_rewrites_only_what_changed(archive):
    root, out = archive
    run("site", "--out", str(out))
    before = _snapshot(out)
    again = run("site", "--out", str(out), "--json").json()
    assert again["written"] == 0 and again["unchanged"] == again["sessions"]
    assert _snapshot(out) == before
    b.append(b.transcript_path(root, MINE), b.line(b.user(MINE, 6, "one more question")))
    assert ingest_json(root)["errors"] == 0
    third = run("site", "--out", str(out), "--json").json()
    after = _snapshot(out)
    changed = {k for k in after if after[k] != before.get(k)}
    project_pages = {k for k in changed if k.startswith("projects/")}
    assert f"sessions/{MINE}.html" in changed and len(project_pages) == 1
    assert changed - project_pages - {"index.html"} == {f"sessions/{MINE}.html"}
    assert third["written"] == len(changed) and third["unchanged"] == third["sessions"] - 1
    assert "one more question" in (out / "sessions" / f"{MINE}.html").read_text()


def test_project_filter_and_errors(archive, tmp_path):
    root, out = archive
    first = json.loads(run("sessions", "--limit", "1", "--json").stdout)
    first = first["sessions"][0] if isinstance(first, dict) else first[0]
    got = run("site", "--out", str(out), "--project", first["project"], "--json").json()
    assert got["projects"] == 1 and got["sessions"] >= 1
    afile = tmp_path / "file"
    afile.write_text("x")
    bad = run_proc("site", "--out", str(afile))
    assert bad.code == 2 and "is a file" in bad.stderr and "Traceback" not in bad.stderr
    under = run_proc("site", "--out", str(afile / "sub"))  # a folder cannot be made there
    assert under.code != 0 and under.stderr.startswith("memory: error: ") and "Traceback" not in under.stderr


def test_search_box_filters_in_chromium(archive):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make dev` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    root, out = archive
    run("site", "--out", str(out))
    search = json.loads((out / "search.json").read_text())
    def matches(word: str) -> int:
        return sum(word.lower() in f"{e['title'] or ''} {e['prompt']} {e['project'] or ''} {e['id']}".lower()
                   for e in search)
    words = {w for e in search for w in (e["title"] or "").split() if len(w) > 3}
    word = min(sorted(words), key=matches)  # the rarest title word: a filter that shows
    expected = matches(word)
    assert 1 <= expected < len(search)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((out / "index.html").as_uri())
        assert page.locator("#hits li").count() == 0
        page.fill("#q", word)
        hits = page.locator("#hits li")
        assert hits.count() == expected
        page.screenshot(path=str(ARTIFACTS / "index-search.png"), full_page=True)
        hits.first.locator("a").click()
        page.wait_for_load_state()
        assert page.url.startswith((out / "sessions").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        browser.close()


def test_pages_of_sessions_gone_from_the_store_are_removed(archive):
    root, out = archive
    run("site", "--out", str(out))
    manifest = out / ".site-manifest.json"
    entries = json.loads(manifest.read_text())
    entries["gone-session"] = "1|x|y|None|"
    manifest.write_text(json.dumps(entries))
    (out / "sessions" / "gone-session.html").write_text("old")
    run("site", "--out", str(out))
    assert not (out / "sessions" / "gone-session.html").exists()
    assert "gone-session" not in json.loads(manifest.read_text())
