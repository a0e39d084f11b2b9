"""Session derivation: what a run decides for the sessions it touched (and history lines
without a session). The backend fetches and writes through `DirtySessions`, in one write
transaction, set-based; every decision (which history line is which prompt, what a tool
result counts for, which title wins) is taken here.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol

from .counting import counted
from .links import LINK_EXACT_MS, Candidate, best_match, link_key
from .titles import SessionText, main_model


class HistoryLine(NamedTuple):
    """A history.jsonl prompt not linked yet (session_id None: older Claude Code)."""

    id: int
    session_id: str | None
    project_id: int | None
    ts: int
    content: str | None


class PromptLine(NamedTuple):
    """A transcript prompt (or local command) a history line may be; linked_uid: a history
    line already linked to the prompt of that uid."""

    uid: str
    session_id: str
    project_id: int | None
    ts: int
    content: str | None
    linked_uid: str | None


class Link(NamedTuple):
    prompt_uid: str
    session_id: str
    history_id: int


class ToolResult(NamedTuple):
    """A tool result without a tool name, and the name of the call it answers (if found)."""

    id: int
    type: str
    component: str | None
    is_error: bool
    call_tool: str | None


class NamedRow(NamedTuple):
    id: int
    tool_name: str
    count_kind: str | None
    count_name: str | None


class TitleLine(NamedTuple):
    """A prompt or a title line (custom-title, ai-title, summary, ...), in time order."""

    session_id: str
    type: str
    content: str
    is_prompt: bool


class SessionFacts(NamedTuple):
    session_id: str
    title: str | None
    summary: str | None
    first_prompt: str | None
    model: str | None


class DirtySessions(Protocol):
    """A backend's view of the sessions to derive, within one write transaction."""

    def ids(self) -> list[str]: ...
    def settle_projects(self) -> None:
        """Every message of a session in the session's project."""
    def unlinked_history(self) -> list[HistoryLine]: ...
    def prompt_candidates(self, history: Sequence[HistoryLine]) -> Iterable[PromptLine]:
        """Prompts of the sessions of these lines, and of the sessions of their projects active
        around the sessionless ones; with the history links already made."""
    def write_links(self, links: Sequence[Link]) -> None:
        """Link each history line; a sessionless one takes the session (dirty: derived too)."""
    def tool_results(self) -> Iterable[ToolResult]: ...
    def write_tool_names(self, rows: Sequence[NamedRow]) -> None: ...
    def count(self) -> None:
        """Counts, span and tokens of each session, summed from its rows."""
    def title_lines(self) -> Iterable[TitleLine]: ...
    def model_uses(self) -> Iterable[tuple[str, str, int]]:
        """(session, model, responses)."""
    def write_titles(self, rows: Sequence[SessionFacts]) -> None: ...
    def link_parents(self) -> None:
        """A session whose first line continues another's resumed it."""
    def done(self) -> None: ...


def derive(s: DirtySessions) -> int:
    """Derive the dirty sessions; returns how many there were."""
    n = derive_rows(s)
    derive_facts(s)
    return n


def derive_rows(s: DirtySessions) -> int:
    """What derivation changes in the dirty sessions' rows (their project, the history lines
    they are, the tool names of their results); returns how many sessions there were. Once
    committed, what reads rows (the report rollups, memory extraction) may start: the rest
    (derive_facts) writes only the sessions' own facts. A session a history line joins is
    marked dirty too, so a run stopped in between derives it next time."""
    ids = s.ids()
    if not ids:
        return 0
    s.settle_projects()
    s.write_links(history_links(s.unlinked_history(), s.prompt_candidates))
    s.write_tool_names([NamedRow(r.id, r.call_tool, *counted(r.type, r.component, r.is_error,
                                                             r.call_tool))
                        for r in s.tool_results() if r.call_tool])
    return len(ids)


def derive_facts(s: DirtySessions) -> None:
    """The dirty sessions' counts, titles and parents, from their derived rows; then they are
    clean."""
    ids = s.ids()
    if not ids:
        return
    s.count()
    s.write_titles(titles(ids, s.title_lines(), s.model_uses()))
    s.link_parents()
    s.done()


def history_links(hist: Sequence[HistoryLine],
                  candidates: Callable[[Sequence[HistoryLine]], Iterable[PromptLine]]) -> list[Link]:
    """Which transcript prompt each history line is (derive.links), earliest line first; a
    prompt is taken once. Sessionless lines are matched within their project."""
    if not hist:
        return []
    by_session: dict[str, list[Candidate]] = {}
    by_project: dict[int, list[Candidate]] = {}
    used: set[str] = set()
    for p in candidates(hist):
        if p.linked_uid:
            used.add(p.linked_uid)
            continue
        cand = Candidate(p.ts, p.uid, p.session_id, link_key(p.content))
        by_session.setdefault(p.session_id, []).append(cand)
        if p.project_id is not None:
            by_project.setdefault(p.project_id, []).append(cand)
    links = []
    windows: dict[tuple[str | None, int | None], _Window] = {}
    for h in sorted(hist, key=lambda h: h.ts):
        where = (h.session_id, None if h.session_id is not None else h.project_id)
        window = windows.get(where)
        if window is None:
            pool = by_session.get(h.session_id, []) if h.session_id is not None else \
                by_project.get(h.project_id, []) if h.project_id is not None else []
            window = windows[where] = _Window(pool)
        best = best_match(h.ts, link_key(h.content), window.around(h.ts), used)
        if best is not None:
            used.add(best.uid)
            links.append(Link(best.uid, best.session_id, h.id))
    return links


class _Window:
    """A pool's candidates within LINK_EXACT_MS of a time, in the pool's order (so ties go as
    they would over the whole pool): a project's sessionless history lines each looked at
    every prompt of the project (12% of a 1M first ingest)."""

    def __init__(self, pool: list[Candidate]) -> None:
        self.pool = pool
        self.order = sorted(range(len(pool)), key=lambda i: pool[i].ts)
        self.times = [pool[i].ts for i in self.order]

    def around(self, ts: int) -> list[Candidate]:
        lo = bisect_left(self.times, ts - LINK_EXACT_MS)
        hi = bisect_right(self.times, ts + LINK_EXACT_MS)
        return [self.pool[i] for i in sorted(self.order[lo:hi])]


def titles(ids: Iterable[str], lines: Iterable[TitleLine],
           models: Iterable[tuple[str, str, int]]) -> list[SessionFacts]:
    """Title, summary, first prompt and main model of each session (derive.titles)."""
    found: dict[str, SessionText] = {}
    for line in lines:
        found.setdefault(line.session_id, SessionText()).add(line.type, line.content,
                                                             line.is_prompt)
    uses: dict[str, Counter[str]] = {}
    for sid, model, n in models:
        uses.setdefault(sid, Counter())[model] = n
    out = []
    for sid in ids:
        text = found.get(sid) or SessionText()
        out.append(SessionFacts(sid, text.title, text.summary, text.first_prompt,
                                main_model(uses.get(sid, Counter()))))
    return out
