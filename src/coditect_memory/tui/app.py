"""The Textual app of `memory tui`: a search box, facets with counts, the results, a preview
of the selected hit in its session, and a bar with the line that resumes that session.

Searches run a short pause after the last key (a debounce), through `actions.search.search`
on a read-only store, on one thread of the app's own (so the store keeps one connection; the
event loop never waits on it); only the newest query's answer is shown."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from typing import Any, TypeVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from ..actions.browse import show_session
from ..actions.search import ResultRow, SearchResult, search
from ..errors import MemoryError_
from ..search.cache import SearchCache
from ..settings import Settings
from ..store.base import Message, Store
from . import model

DEBOUNCE = 0.15  # seconds after the last key before searching
T = TypeVar("T")

HELP = """\
[b]memory tui[/b] — search everything captured from Claude Code

  type            search as you type (words, "a phrase", prefix*, -exclude, project:NAME …)
  ↑ ↓  PgUp PgDn  move through the results (the preview follows)
  enter           open the whole session in a pager ($PAGER, else less)
  ctrl+r          the line that resumes the session: shown below, copied to the clipboard
  ctrl+t          search mode: keyword → hybrid → semantic
  ctrl+d          date range: any time → today → 7 days → 30 days → a year
  tab             to the facets (enter keeps or drops a value; counts are matches)
  ?  F1           this help            q  esc  quit (q outside the search box)

Without words: the newest messages (with the facets and range chosen)."""


class QueryInput(Input):
    """The search box: every printable key is text, except `?` in an empty box (help)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return super().check_consume_key(key, character) and not (character == "?" and not self.value)


class Help(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "close")]
    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > Static { width: auto; max-width: 100%; border: round $accent; padding: 1 2;
                    background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static(HELP, id="help")


class MemoryTUI(App[None]):
    TITLE = "memory tui"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #query { dock: top; }
    #status { height: 1; color: $text-muted; padding: 0 1; }
    #main { height: 1fr; }
    #facets { width: 26; border-right: solid $panel; }
    #results { width: 1fr; }
    #preview { height: 45%; border-top: solid $panel; padding: 0 1; }
    #resume { height: auto; max-height: 2; background: $boost; padding: 0 1; }
    OptionList { border: none; padding: 0; }
    """
    BINDINGS = [
        Binding("down", "move(1)", "next", show=False, priority=True),
        Binding("up", "move(-1)", "previous", show=False, priority=True),
        Binding("pagedown", "move(10)", show=False, priority=True),
        Binding("pageup", "move(-10)", show=False, priority=True),
        Binding("enter", "open_session", "open", priority=True),
        Binding("ctrl+r", "resume", "resume", priority=True),
        Binding("ctrl+t", "mode", "mode", priority=True),
        Binding("ctrl+d", "range", "dates", priority=True),
        Binding("question_mark", "help", "help", key_display="?", priority=True),
        Binding("f1", "help", show=False),
        Binding("escape", "quit", "quit", key_display="esc"),
        Binding("q", "quit", show=False),
    ]

    def __init__(self, store: Store, settings: Settings, tz: tzinfo, query: str = "",
                 mode: str = "keyword") -> None:
        super().__init__()
        self.store, self.settings = store, settings
        self.q = model.Query(text=query, mode=mode, tz=tz)
        self.cache = SearchCache()
        self.hits: list[ResultRow] = []
        self.generation = 0  # the newest search: older answers are dropped
        self.shown_text: str | None = None  # the query the listed results answer
        self.debounce: Timer | None = None
        self.resumed: ResultRow | None = None  # the hit whose resume line is shown
        self.sessions: dict[str, list[Message]] = {}  # the last few previewed sessions
        self.empty = False
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="memory-tui-store")

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the store's thread; a cancelled worker drops it if not started."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def on_unmount(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def compose(self) -> ComposeResult:
        yield QueryInput(value=self.q.text, placeholder="search… (? for help)", id="query")
        yield Static("", id="status")
        with Horizontal(id="main"):
            yield OptionList(id="facets")
            yield OptionList(id="results")
        with VerticalScroll(id="preview"):
            yield Static("", id="preview-text")
        yield Static("", id="resume")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#results", OptionList).can_focus = False
        self.query_one("#query", Input).focus()
        self.check_empty()

    # --- searching -------------------------------------------------------------------------
    @work(exclusive=True, group="empty")
    async def check_empty(self) -> None:
        status = await self.off_loop(self.store.status)
        self.started(status["messages"] == 0)

    def started(self, empty: bool) -> None:
        self.empty = empty
        if empty:
            self.status(model.empty_store_note().split("\n", 1)[0])
            self.query_one("#preview-text", Static).update(model.empty_store_note())
            return
        self.run_search()

    @on(Input.Changed, "#query")
    def typed(self, event: Input.Changed) -> None:
        if event.value == self.q.text:  # the box filled at start: searched already
            return
        self.q.text = event.value
        self.generation += 1  # a search in flight answers older text: its results are not shown
        if self.debounce is not None:
            self.debounce.stop()
        self.debounce = self.set_timer(DEBOUNCE, self.run_search)

    def run_search(self) -> None:
        if self.empty:
            return
        self.generation += 1
        self.status(f"searching… ({self.q.describe()})")
        self.searching(self.generation, self.q.request())

    @work(exclusive=True, group="search")
    async def searching(self, generation: int, request) -> None:
        try:
            result: SearchResult | str = await self.off_loop(search, self.store, self.settings,
                                                             request, self.cache)
        except MemoryError_ as e:
            result = str(e)
        self.show_results(generation, result)

    def show_results(self, generation: int, result: SearchResult | str) -> None:
        if generation != self.generation:
            return
        self.shown_text = self.q.text
        results = self.query_one("#results", OptionList)
        results.clear_options()
        if isinstance(result, str):
            self.hits = []
            self.status(f"[red]{result}[/]")
            self.query_one("#preview-text", Static).update("")
            return
        self.hits = result.results
        width = max(results.size.width - 2, 40)
        results.add_options([Option(model.result_line(r, self.q.tz, width)) for r in self.hits])
        self.show_facets(result.facets)
        what = "newest messages" if not self.q.text.strip() else f"{result.total:,} matches"
        notes = f" · {result.notes[0]}" if result.notes else ""
        self.status(f"{what} ({result.mode}, {result.took_ms:.0f} ms) · {self.q.describe()}{notes}")
        if self.hits:
            results.highlighted = 0  # the preview follows (result_highlighted)
        else:
            self.query_one("#preview-text", Static).update("no match: fewer words, another mode "
                                                           "(ctrl+t) or a wider range (ctrl+d)")
            self.resumed = None
            self.query_one("#resume", Static).update("")

    def show_facets(self, facets: dict[str, dict[str, int]] | None) -> None:
        box = self.query_one("#facets", OptionList)
        at = box.highlighted
        box.clear_options()
        rows = model.facet_rows(facets, self.q.chosen)
        last = None
        for facet, value, n, chosen in rows:
            if facet != last:
                box.add_option(Option(Text(facet, style="bold"), disabled=True))
                last = facet
            mark = "✓ " if chosen else "  "
            label = Text.assemble(mark, (value, "bold" if chosen else ""))
            label.truncate(22 - len(f" {n:,}"), overflow="ellipsis")
            label.append(f" {n:,}", "dim")
            box.add_option(Option(label, id=f"{facet}\0{value}"))
        if at is not None and at < box.option_count:
            box.highlighted = at

    @on(OptionList.OptionSelected, "#facets")
    def facet_chosen(self, event: OptionList.OptionSelected) -> None:
        facet, value = (event.option.id or "\0").split("\0", 1)
        if facet:
            self.q.toggle(facet, value)
            self.run_search()

    # --- the selected hit ------------------------------------------------------------------
    def selected(self) -> ResultRow | None:
        at = self.query_one("#results", OptionList).highlighted
        return self.hits[at] if at is not None and 0 <= at < len(self.hits) else None

    def action_move(self, step: int) -> None:
        if isinstance(self.focused, OptionList) and self.focused.id == "facets":
            box = self.focused
            box.action_cursor_down() if step > 0 else box.action_cursor_up()
            return
        results = self.query_one("#results", OptionList)
        if not self.hits:
            return
        at = results.highlighted or 0
        results.highlighted = min(max(at + step, 0), len(self.hits) - 1)

    @on(OptionList.OptionHighlighted, "#results")
    def result_highlighted(self) -> None:
        """The keys or a click moved the selection: its preview."""
        self.show_preview()

    def show_preview(self) -> None:
        hit = self.selected()
        if hit is None:
            return
        if hit is not self.resumed:  # a late highlight of the same hit keeps its line (ctrl+r)
            self.resumed = None
            self.query_one("#resume", Static).update("")
        self.previewing(hit, self.q.text)

    @work(exclusive=True, group="preview")
    async def previewing(self, hit: ResultRow, query: str) -> None:
        messages = await self.off_loop(self.messages, hit["session_id"]) if hit["session_id"] else []
        self.previewed(hit, model.preview(hit, messages, query, self.q.tz))

    def previewed(self, hit: ResultRow, text: Group) -> None:
        if self.selected() is not hit:
            return
        self.query_one("#preview-text", Static).update(text)
        self.query_one("#preview", VerticalScroll).scroll_home(animate=False)
        sid = hit["session_id"]
        self.query_one("#preview", VerticalScroll).border_title = (
            model.version_label(hit)
            or (f"session {sid[:8]} · {hit['project_name'] or '—'}" if sid else hit["source_kind"]))

    def messages(self, session_id: str) -> list[Message]:
        if session_id not in self.sessions:
            if len(self.sessions) > 8:
                self.sessions.pop(next(iter(self.sessions)))
            self.sessions[session_id] = self.store.session_messages(session_id)
        return self.sessions[session_id]

    # --- actions ---------------------------------------------------------------------------
    def action_open_session(self) -> None:
        if isinstance(self.focused, OptionList) and self.focused.id == "facets":
            self.focused.action_select()
            return
        hit = self.selected()
        if hit is None or not hit["session_id"]:
            self.status("no session to open: this message belongs to none")
            return
        view = show_session(self.store, hit["session_id"])
        page = model.session_page(view.session, view.messages, min(self.size.width, 120), True)
        pager = shlex.split(os.environ.get("PAGER") or "less -R")
        try:
            with self.suspend():
                subprocess.run(pager, input=page.encode(), check=False)
        except Exception as e:  # noqa: BLE001 - no terminal to hand over (a test) or no pager
            self.status(f"[red]cannot open a pager ({type(e).__name__}: {e}); set $PAGER[/]")
        self.refresh()

    def action_resume(self) -> None:
        hit = self.selected()
        line = model.resume_line(hit) if hit else None
        if line is None:
            self.status("no session to resume: select a result from a session")
            return
        self.copy_to_clipboard(line)  # OSC 52: works through ssh and tmux where allowed
        self.resumed = hit
        self.query_one("#resume", Static).update(Text.assemble(("resume: ", "bold"), line,
                                                               ("  (copied)", "dim")))

    def action_mode(self) -> None:
        self.q.next_mode()
        self.run_search()

    def action_range(self) -> None:
        self.q.next_range()
        self.run_search()

    def action_help(self) -> None:
        self.push_screen(Help())

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit()

    def status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)
