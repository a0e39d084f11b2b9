"""The web UI end to end in headless Chromium (Debian's package; the Makefile installs it),
driven by Playwright against a real `memory serve`: log in, search, open a session from a
result, the timeline, a report, backups. A screenshot of each page is kept under
tests/artifacts/web-ui/ (gitignored)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..api_support import Server, sample_home, token

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web-ui"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make dev` installs it (apt-get install chromium)")
    base = tmp_path_factory.mktemp("ui")
    home, _ = sample_home(base)
    (home / "config.toml").write_text(f'[backup]\ntarget = "{base / "backups"}"\n')
    from coditect_memory.actions import backup
    from coditect_memory.settings import load_settings

    backup.create(load_settings(home), backup.Target())
    srv = Server(home)
    srv.wait_healthy()
    yield srv, home
    srv.stop()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        browser.close()
        assert not errors, errors


def test_log_in_search_open_session_report(server, page):
    srv, home = server
    page.goto(srv.url + "/")
    page.wait_for_selector("#login")
    page.fill("input[name=token]", "not-a-token")
    page.click("#login button")
    page.wait_for_selector("#msg:has-text('token')")
    page.screenshot(path=str(ARTIFACTS / "1-login.png"))
    page.fill("input[name=token]", token(home, "admin"))
    page.click("#login button")

    page.wait_for_selector("form#sf")
    page.fill("input[name=q]", "error")
    page.click("form#sf button")
    # the page opened on the newest messages (no words, so no marks): wait for this search's
    # own results, whose matched words are marked, not the ones already there
    page.wait_for_selector("#results .result mark")
    assert "results in" in page.inner_text("#total")
    assert page.locator(".facets a").count() > 3
    page.screenshot(path=str(ARTIFACTS / "2-search.png"), full_page=False)

    first = page.locator("#results .result").first
    first.click()
    page.wait_for_selector("#conversation .msg")
    assert page.locator(".msg.target").count() == 1  # opened at the message found
    assert page.locator("#conversation details").count() > 0  # tool calls collapsible
    page.screenshot(path=str(ARTIFACTS / "3-session.png"))

    page.click("#nav a[href='#/timeline']")
    page.wait_for_selector("h1:has-text('Timeline')")
    page.wait_for_selector(".card h2")
    page.screenshot(path=str(ARTIFACTS / "4-timeline.png"))

    page.click("#nav a[href='#/reports/project-activity']")
    page.wait_for_selector("#report-title")
    assert page.locator(".chart .bar").count() > 3
    page.screenshot(path=str(ARTIFACTS / "5-report.png"))
    page.click(".tabs a[href='#/reports/usage']")
    page.wait_for_selector("#report-title:has-text('usage')")

    page.click("#nav a[href='#/backups']")
    page.wait_for_selector("h1:has-text('Backups')")
    page.wait_for_selector("table td")
    page.screenshot(path=str(ARTIFACTS / "6-backups.png"))


def test_a_filter_from_a_facet(server, page):
    srv, _ = server
    page.goto(srv.url + "/#/search?q=test")
    page.wait_for_selector(".facets a")
    page.locator(".facets h3:has-text('type') + a").click()
    page.wait_for_selector(".tag:has-text('type:')")
    page.wait_for_selector("#results .result")  # the page is drawn anew: results after the chip
    kinds = page.locator("#results .result .tag").all_inner_texts()
    assert kinds and len({k.split(" ·")[0] for k in kinds}) == 1
