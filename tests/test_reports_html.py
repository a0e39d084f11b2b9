"""HTML reports as a person sees them, in headless Chromium (Debian's package; the Makefile
installs it): no horizontal scroll at 1280 px, text of at least 12 px, links that resolve,
totals rows, a year on the time axis, markdown rendered in the session page. Screenshots
are kept under tests/artifacts/reports-html/ (gitignored)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from coditect_memory.sample import generate

from . import builders as b
from .conftest import ingest_into, run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "reports-html"
SESSION = b.sid(77)

# Everything a page shows in the browser: overflow, the smallest text, charts' drawn width,
# links that point nowhere.
PROBE = """() => {
  const sizes = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!el.childNodes.length || el.closest('svg title')) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    let px = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest('svg');
    if (svg) px *= svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    sizes.push([px, el.tagName, el.textContent.slice(0, 40)]);
  }
  sizes.sort((a, b) => a[0] - b[0]);
  const broken = [...document.querySelectorAll('a[href^="#"]')]
    .filter(a => a.getAttribute('href').length > 1
                 && !document.getElementById(a.getAttribute('href').slice(1)))
    .map(a => a.getAttribute('href'));
  return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
          smallest: sizes.slice(0, 3), broken, body: document.body.getBoundingClientRect().width};
}"""


def _session_lines() -> list[dict]:
    s = SESSION
    lines = [b.user(s, 0, "Please **fix** the `load_settings` bug <script>alert(1)</script>"),
             b.assistant(s, 1, "Done:\n\n```python\nraise KeyError(name)\n```\n\n- one\n- two",
                         tool=True)]
    fail = b.user(s, 2, "")
    fail["message"]["content"] = [{"type": "tool_result", "tool_use_id": f"toolu_{s[-6:]}_1",
                                   "is_error": True,
                                   "content": "Error: exit 1\\n\\nTraceback: boom"}]
    lines.append(fail)
    edit = b.assistant(s, 3, "Editing")
    edit["message"]["content"] = [{"type": "tool_use", "id": "toolu_e", "name": "Read",
                                   "input": {"file_path": "/home/dev/webapp/app.py"}}]
    lines.append(edit)
    return lines


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make dev` installs it (apt-get install chromium)")
    root = tmp_path_factory.mktemp("claude")
    generate(root, sessions=16, seed=7)  # spans 2025-11 .. 2026-02: two years
    b.write_jsonl(b.transcript_path(root, SESSION), _session_lines())
    home = tmp_path_factory.mktemp("home")
    assert ingest_into(home, root)["errors"] == 0
    out = tmp_path_factory.mktemp("html")
    mp = pytest.MonkeyPatch()
    mp.setenv("MEMORY_HOME", str(home))
    files = {}
    try:
        for name in ("usage", "component-usage", "project-activity", "error-analysis"):
            files[name] = out / f"{name}.html"
            run("report", name, "--format", "html", "--out", str(files[name]), "--timezone", "UTC")
        files["session"] = out / "session.html"
        run("report", "session", SESSION, "--format", "html", "--out", str(files["session"]))
    finally:
        mp.undo()
    return files


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        br = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield br
        br.close()


def _open(browser, path: Path, name: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    return page


@pytest.mark.parametrize("name", ["usage", "component-usage", "project-activity", "error-analysis",
                                  "session"])
def test_fits_1280_with_readable_text(pages, browser, name):
    page = _open(browser, pages[name], name)
    got = page.evaluate(PROBE)
    page.close()
    assert got["scroll"] <= got["client"], f"horizontal scroll: {got['scroll']} > {got['client']}"
    assert got["body"] >= 1200  # the content uses the window's width
    assert got["smallest"] and got["smallest"][0][0] >= 12, got["smallest"]
    assert not got["broken"], got["broken"]


def test_usage_has_totals_and_years_on_the_axis(pages, browser):
    page = _open(browser, pages["usage"], "usage-axis")
    last = page.locator("table tr.total").first.inner_text()
    labels = page.locator("figure svg text").all_text_contents()
    page.close()
    assert last.startswith("total") and "$" in last
    assert any(t.startswith("2025-") for t in labels) and any(t.startswith("2026-") for t in labels)


def test_small_values_stay_visible(pages):
    html = pages["usage"].read_text()
    widths = [float(w) for w in re.findall(r'<rect x="[^"]+" y="[^"]+" width="([\d.]+)"', html)]
    assert widths and min(widths) >= 3


def test_tools_are_not_dwarfed_by_hooks(pages, browser):
    page = _open(browser, pages["component-usage"], "components-charts")
    captions = page.locator("figcaption").all_inner_texts()
    page.close()
    assert "Tool calls" in captions and any(c.startswith("Components") for c in captions)
    activity = pages["project-activity"].read_text()
    assert "Most used tools" in activity


def test_session_page_renders_markdown_safely(pages, browser):
    page = _open(browser, pages["session"], "session-markdown")
    conv = page.locator("section.conversation")
    text = conv.inner_text()
    strong = conv.locator(".md strong").all_inner_texts()
    code = conv.locator(".md pre code").all_inner_texts()
    scripts = page.locator("section.conversation script").count()
    page.close()
    assert "fix" in strong and any("raise KeyError" in c for c in code)
    assert scripts == 0 and "<script>alert(1)</script>" in text  # raw HTML shown as text
    assert re.search(r"\d\d:\d\d:\d\d you", text), text[:200]
    assert "\\n" not in text  # error messages' escaped newlines are line breaks


def test_files_touched_has_no_zero_counts(pages):
    html = pages["session"].read_text()
    table = html[html.index("Files touched"):]
    table = table[:table.index("</table>")]
    assert "app.py" in table  # read once, never written: its writes cell is blank, not 0
    assert ">0<" not in table


def test_session_errors_table_shows_line_breaks_not_escapes(pages, browser):
    """The Errors table's stored signature carries JSON-escaped `\\n`: shown as line breaks."""
    assert "exit N\\n" not in pages["session"].read_text()
    page = _open(browser, pages["session"], "session-errors")
    errors = page.locator("h2", has_text="Errors").locator("xpath=following-sibling::table[1]")
    text = errors.inner_text()
    page.close()
    assert "Error: exit N\n" in text and "Traceback: boom" in text, text
    assert "\\n" not in text
