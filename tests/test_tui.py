"""`memory tui`, the interactive search: its logic through Textual's own pilot
(`App.run_test()`), and as a person uses it, through tmux (`send-keys`, `capture-pane`) at 80
and 120 columns: type a query, see the hit and its preview, move, open the resume line and
the pager, quit. Every test runs on both backends (the module's store)."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest

from coditect_memory.sample import generate
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.tui import model
from coditect_memory.tui.app import Help, MemoryTUI

from . import builders as b
from .conftest import ingest_json, run_proc

HIT = b.sid(301)
OTHER = b.sid(302)
WORD = "zanzibar"


def _lines() -> list[dict]:
    s = HIT
    return [b.user(s, 0, "the flamingo service times out on startup"),
            b.assistant(s, 1, "Looking at the flamingo config first."),
            b.user(s, 2, "any luck?"),
            b.assistant(s, 3, f"Found it: the {WORD} migration holds a lock on the flamingo table."),
            b.user(s, 4, "great, release it after the migration"),
            b.assistant(s, 5, "Done: the lock is released once the migration commits.")]


@pytest.fixture(scope="module")
def tui_home(module_backend, tmp_path_factory) -> Iterator[Path]:
    """A sample ~/.claude plus two known sessions (one mentions WORD once), ingested."""
    root = tmp_path_factory.mktemp("claude")
    generate(root, sessions=8, seed=7)
    b.write_jsonl(b.transcript_path(root, HIT), _lines())
    b.write_jsonl(b.transcript_path(root, OTHER, "-home-dev-other"),
                  [b.user(OTHER, 0, f"is the {WORD} job still running?", cwd="/home/dev/other"),
                   b.assistant(OTHER, 1, "It finished an hour ago.", cwd="/home/dev/other")])
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMORY_HOME", str(home))
        assert ingest_json(root)["errors"] == 0
    yield home


@pytest.fixture
def app_factory(tui_home, on_module_backend, monkeypatch) -> Iterator[Callable[..., MemoryTUI]]:
    monkeypatch.setenv("MEMORY_HOME", str(tui_home))
    settings = load_settings(tui_home)
    stores = []

    def make(query: str = "") -> MemoryTUI:
        store = open_store(settings, readonly=True)
        stores.append(store)
        return MemoryTUI(store, settings, UTC, query)

    yield make
    for s in stores:
        s.close()


async def _until(pilot, check: Callable[[], bool], timeout: float = 20) -> None:
    """Wait for the app (a worker thread searching) without a fixed sleep."""
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out waiting for the app"
        await pilot.pause(0.05)


def _text(app: MemoryTUI, selector: str) -> str:
    """What a widget shows, as plain text."""
    from rich.console import Console
    from textual.widgets import OptionList

    widget = app.query_one(selector)
    if isinstance(widget, OptionList):
        return "\n".join(str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count))
    c = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    c.print(widget.content)
    return c.export_text()


def test_typing_finds_the_hit_and_previews_it_in_its_session(app_factory):
    async def go():
        app = app_factory()
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: bool(app.hits))  # the newest messages, before any word
            await pilot.press(*WORD)
            await _until(pilot, lambda: app.shown_text == WORD and len(app.hits) == 2
                         and "matches" in _text(app, "#status"))
            assert {h["session_id"] for h in app.hits} == {HIT, OTHER}
            await pilot.press("down")  # to the other hit: the preview follows
            await _until(pilot, lambda: "◀ match" in _text(app, "#preview-text"))
            chosen = app.selected()
            assert chosen is app.hits[1]
            preview = _text(app, "#preview-text")
            if chosen["session_id"] == HIT:
                assert "Looking at the flamingo config" in preview  # a neighbour before
                assert "release it after the migration" in preview  # and one after
            assert WORD in preview
    asyncio.run(go())


def test_file_versions_are_named_by_their_file_and_version(app_factory):
    """A file version's hit says which file and which version it is (not its kind), in the
    list, the preview's title and the preview."""
    async def go():
        app = app_factory("source:file_history")
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: bool(app.hits) and app.selected() is not None)
            named = [h for h in app.hits if h["file_path"]]
            assert named, "the sample has file versions whose file a transcript named"
            await _until(pilot, lambda: app.selected() is not None
                         and bool(_text(app, "#preview-text").strip()))
            hit = app.selected()
            listed = _text(app, "#results")
            first = named[0]
            assert f"{first['file_path'].rsplit('/', 1)[-1]}@v{first['file_version']}" in listed
            title = str(app.query_one("#preview").border_title)
            assert title == (f"{hit['file_path']}@v{hit['file_version']}" if hit["file_path"]
                             else f"session {hit['session_id'][:8]} · {hit['project_name'] or '—'}")
            assert title != "file_history"
    asyncio.run(go())


def test_facets_narrow_and_show_counts(app_factory):
    async def go():
        app = app_factory(WORD)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: len(app.hits) == 2)
            facets = _text(app, "#facets")
            assert "webapp 1" in facets and "other 1" in facets, facets
            box = app.query_one("#facets")
            at = next(i for i in range(box.option_count)
                      if (box.get_option_at_index(i).id or "").endswith("\0other"))
            await pilot.press("tab")
            box.highlighted = at
            await pilot.press("enter")
            await _until(pilot, lambda: len(app.hits) == 1)
            assert app.hits[0]["session_id"] == OTHER
            assert "project:other" in _text(app, "#status")
            await pilot.press("enter")  # again: the value is dropped
            await _until(pilot, lambda: len(app.hits) == 2)
    asyncio.run(go())


def test_modes_and_date_ranges_switch_without_breaking(app_factory):
    async def go():
        app = app_factory(WORD)
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: len(app.hits) == 2)
            await pilot.press("ctrl+d")  # today: the data is older
            await _until(pilot, lambda: "today" in _text(app, "#status") and not app.hits)
            assert "no match" in _text(app, "#preview-text")
            for _ in range(4):
                await pilot.press("ctrl+d")
            await _until(pilot, lambda: "any time" in _text(app, "#status") and len(app.hits) == 2)
            await pilot.press("ctrl+t")  # hybrid: no embeddings here, said in one line
            await _until(pilot, lambda: "memory embed" in _text(app, "#status")
                         or "semantic" in _text(app, "#status"))
            assert app.q.mode == "hybrid" and app.is_running
    asyncio.run(go())


def test_resume_line_is_shown_and_copied(app_factory):
    async def go():
        app = app_factory(WORD)
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: len(app.hits) == 2)
            while app.selected()["session_id"] != HIT:
                await pilot.press("down")
            await pilot.press("ctrl+r")
            await _until(pilot, lambda: f"claude --resume {HIT}" in _text(app, "#resume"))
            assert app.clipboard == f"cd /home/dev/webapp && claude --resume {HIT}"
            app.show_preview()  # the highlight of the same hit, handled late (a loaded machine)
            await pilot.pause()
            assert f"claude --resume {HIT}" in _text(app, "#resume")
            await pilot.press("up" if app.hits[0] is not app.selected() else "down")
            await _until(pilot, lambda: _text(app, "#resume").strip() == "")  # another hit: gone
    asyncio.run(go())


def test_help_and_quit(app_factory):
    async def go():
        app = app_factory()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("question_mark")  # an empty box: help
            await _until(pilot, lambda: isinstance(app.screen, Help))
            await pilot.press("escape")
            await _until(pilot, lambda: not isinstance(app.screen, Help))
            await pilot.press("a", "question_mark")  # in a query: just a character
            await _until(pilot, lambda: app.q.text == "a?")
            assert not isinstance(app.screen, Help)
            await pilot.press("escape")
            await _until(pilot, lambda: not app.is_running)
    asyncio.run(go())


def test_empty_store_says_how_to_ingest(memory_home, cli_backend):
    settings = load_settings(memory_home)
    open_store(settings).close()  # a store with nothing in it

    async def go():
        with open_store(settings, readonly=True) as store:
            app = MemoryTUI(store, settings, UTC)
            async with app.run_test(size=(80, 24)) as pilot:
                await _until(pilot, lambda: app.empty)
                assert "memory ingest" in _text(app, "#preview-text")
                assert "empty" in _text(app, "#status")
    asyncio.run(go())


def test_needs_a_terminal():
    r = run_proc("tui")
    assert r.code == 2 and "needs a terminal" in r.stderr and "memory search" in r.stderr


def test_date_ranges_are_days_in_the_zone():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    q = model.Query(text="x", tz=ZoneInfo("Pacific/Auckland"))
    q.next_range()  # today
    since = q.request().since
    start = datetime.now(ZoneInfo("Pacific/Auckland")).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
    assert since == start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- through tmux, as a person types -------------------------------------------------------
TMUX = shutil.which("tmux")


class Tmux:
    """A tmux server of this test's own (its own socket), one window running a command."""

    def __init__(self, cols: int, rows: int, command: str) -> None:
        self.socket = f"memory-tui-{uuid.uuid4().hex[:8]}"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(cols), "-y", str(rows), command)

    def tmux(self, *args: str) -> str:
        assert TMUX, "tmux is not installed: `make test` installs it (apt-get install tmux)"
        p = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait(self, check: Callable[[str], bool], timeout: float = 60) -> str:
        """Poll the screen until `check` holds (a loaded machine may take seconds)."""
        end = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            assert time.monotonic() < end, f"timed out; the screen was:\n{screen}"
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX or "tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       timeout=30)


@pytest.fixture
def tmux_tui(tui_home, on_module_backend) -> Iterator[Callable[..., Tmux]]:
    servers: list[Tmux] = []
    env = {"MEMORY_HOME": str(tui_home), "PAGER": "less -R", "TZ": "UTC", "TERM": "xterm-256color"}
    if on_module_backend:
        env["MEMORY_DATABASE_URL"] = on_module_backend
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())

    def start(cols: int, rows: int, *args: str) -> Tmux:
        argv = " ".join(shlex.quote(a) for a in (args or ("tui",)))
        cmd = (f"env {exports} {shlex.quote(sys.executable)} -m coditect_memory {argv}; "
               "echo TUI-EXITED $?; sleep 600")
        t = Tmux(cols, rows, cmd)
        servers.append(t)
        t.wait(lambda s: "esc quit" in s)
        return t

    yield start
    for t in servers:
        t.close()


@pytest.mark.parametrize("cols", [80, 120])
def test_a_person_searches_moves_resumes_pages_and_quits(tmux_tui, cols):
    t = tmux_tui(cols, 30)
    t.keys(WORD, literal=True)
    screen = t.wait(lambda s: "2 matches" in s and "◀ match" in s)
    assert all(len(line) <= cols for line in screen.splitlines())  # fits the terminal
    assert f"{WORD} migration" in screen or f"the {WORD} job" in screen  # the hit, and its preview
    first = next(line for line in screen.splitlines() if "session " in line and "─" in line)
    t.keys("Down")
    screen = t.wait(lambda s: next((line for line in s.splitlines()
                                    if "session " in line and "─" in line), first) != first)
    t.keys("C-r")
    screen = t.wait(lambda s: "claude --resume" in s)
    flat = "".join(screen.split())
    assert any(f"claude--resume{sid}" in flat for sid in (HIT, OTHER)), screen
    t.keys("Enter")  # the whole session in the pager
    t.wait(lambda s: any(f"session {sid} ·" in s for sid in (HIT, OTHER)) and "◀ match" not in s)
    t.keys("q")  # leave the pager: back in the app, where it was
    t.wait(lambda s: "2 matches" in s and "◀ match" in s)
    t.keys("Escape")
    t.wait(lambda s: "TUI-EXITED 0" in s)


def test_help_through_tmux(tmux_tui):
    t = tmux_tui(80, 24)
    t.keys("?", literal=True)
    t.wait(lambda s: "ctrl+r" in s and "resumes the session" in s)
    t.keys("Escape")
    t.wait(lambda s: "resumes the session" not in s and "esc quit" in s)
    t.keys("Escape")
    t.wait(lambda s: "TUI-EXITED 0" in s)


def test_search_i_is_the_same_ui_with_the_query_typed(tmux_tui):
    t = tmux_tui(100, 30, "search", "-i", WORD)
    t.wait(lambda s: "2 matches" in s and "◀ match" in s and WORD in s.splitlines()[1])
    t.keys("Escape")
    t.wait(lambda s: "TUI-EXITED 0" in s)
