"""What the terminal UI shows, without Textual: the search request its state makes, the
preview of a hit in its session, the page a pager shows and the line that resumes a
session. Kept apart so the logic is tested without a terminal."""

from __future__ import annotations

import io
import re
import shlex
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from rich.console import Console, Group
from rich.text import Text

from ..actions.browse import shown
from ..actions.search import ResultRow, SearchRequest
from ..reports.fmt import readable
from ..store.base import Message, Session
from ..timeutil import LOCAL, clock, user_bound

MODES = ("keyword", "hybrid", "semantic")
# The date ranges ctrl+d steps through: (label, --since)
RANGES: tuple[tuple[str, str | None], ...] = (
    ("any time", None), ("today", "today"), ("7 days", "6d"), ("30 days", "29d"), ("a year", "364d"))
# facet of the result (as `search --facets` names it) -> the request's filter
FACETS = {"project": "project", "source_kind": "source", "type": "type", "role": "role"}
NEIGHBOURS = 2  # messages shown before and after the hit in the preview
LIMIT = 100  # results per query: a list to scroll, not to page


@dataclass
class Query:
    """What the person asked for: the words, the mode, the chosen facets and the range."""

    text: str = ""
    mode: str = "keyword"
    chosen: dict[str, set[str]] = field(default_factory=dict)  # facet -> values kept
    range_index: int = 0
    tz: tzinfo = LOCAL

    @property
    def range_label(self) -> str:
        return RANGES[self.range_index][0]

    def next_mode(self) -> None:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]

    def next_range(self) -> None:
        self.range_index = (self.range_index + 1) % len(RANGES)

    def toggle(self, facet: str, value: str) -> None:
        values = self.chosen.setdefault(facet, set())
        values.symmetric_difference_update({value})
        if not values:
            del self.chosen[facet]

    def request(self) -> SearchRequest:
        """The search `memory search` would run; without words, the newest messages."""
        since = RANGES[self.range_index][1]
        req = SearchRequest(query=self.text, facets=True, limit=LIMIT,
                            mode=self.mode if self.text.strip() else "keyword",
                            sort="relevance" if self.text.strip() else "newest",
                            since=user_bound(since, False, self.tz))
        for facet, values in self.chosen.items():
            setattr(req, FACETS[facet], sorted(values))
        return req

    def describe(self) -> str:
        chosen = " ".join(f"{f}:{v}" for f, vs in sorted(self.chosen.items()) for v in sorted(vs))
        return f"{self.mode} · {self.range_label}" + (f" · {chosen}" if chosen else "")


def when(iso_ts: str | None, tz: tzinfo, seconds: bool = False) -> str:
    """A stored ISO time as the person's clock shows it (in `tz`)."""
    return clock(iso_ts, tz, "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") or "—"


def who(m: Message | ResultRow) -> str:
    kind = m["type"]
    if kind in ("tool_use", "tool_result", "tool_output"):
        return f"{'→' if kind == 'tool_use' else '←'} {m['tool_name'] or 'tool'}"
    return {"user": "you", "assistant": "claude"}.get(kind, kind)


def version_label(r: ResultRow, short: bool = False) -> str | None:
    """A file version's name as a person knows it: its file and version ('app.py@v3'); None
    for other hits (or a version whose file no transcript named)."""
    path = r.get("file_path")
    if not path:
        return None
    return f"{path.rsplit('/', 1)[-1] if short else path}@v{r.get('file_version') or '?'}"


def result_line(r: ResultRow, tz: tzinfo, width: int) -> Text:
    """One result: when, project, who (a file version: its file), and the snippet with the
    matched words marked."""
    label = version_label(r, short=True) or who(r)
    head = Text.assemble((when(r["timestamp"], tz)[5:], "dim"), " ",
                         ((r["project_name"] or "—")[:16], "cyan"), " ",
                         (label[:24], "red" if r["is_error"] else "magenta"), " ")
    snip = Text(r["snippet"])
    for a, b in r["highlights"]:
        snip.stylize("bold yellow", a, b)
    line = head + snip
    line.truncate(max(width, 20), overflow="ellipsis")
    line.no_wrap = True
    return line


def _marks(text: str, words: list[str]) -> list[tuple[int, int]]:
    if not words:
        return []
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return [m.span() for m in pattern.finditer(text)]


def query_words(query: str) -> list[str]:
    """The words of a query worth marking in the preview (no filters, exclusions, operators)."""
    words = []
    for w in re.findall(r'"[^"]+"|\S+', query):
        w = w.strip('"').rstrip("*")
        if w and not w.startswith("-") and ":" not in w and w not in ("OR", "AND", "NOT"):
            words.append(w)
    return words


def preview(hit: ResultRow, messages: list[Message], query: str, tz: tzinfo) -> Group:
    """The hit among its neighbours in the session (bookkeeping left out): a line for each
    neighbour, the hit marked, in full, with its matched words highlighted. A hit outside
    any session is shown alone."""
    words = query_words(query)
    around = [m for m in messages if shown(m) or m["uid"] == hit["uid"]]
    at = next((i for i, m in enumerate(around) if m["uid"] == hit["uid"]), None)
    if at is None:
        what = version_label(hit) or f"{who(hit)} · {hit['source_kind']} {hit['source_file'] or ''}"
        head = Text(f"{when(hit['timestamp'], tz, True)} {what}", "dim")
        return Group(head, _marked(hit["snippet"], words))
    parts: list[Text] = []
    for m in around[max(0, at - NEIGHBOURS): at + NEIGHBOURS + 1]:
        style = "bold red" if m["is_error"] else "bold cyan" if m["type"] == "user" else "bold green"
        label = Text.assemble((when(m["timestamp"], tz, True)[11:] + " ", "dim"), (who(m), style))
        text = readable(m["content"]).strip()
        if m["uid"] != hit["uid"]:
            line = label + Text("  " + " ".join(text.split())[:400], "dim")
            line.no_wrap, line.overflow = True, "ellipsis"
            parts.append(line)
            continue
        parts.append(label + Text("  ◀ match", "bold yellow"))
        body = "\n".join(text.splitlines()[:30])
        parts.append(_marked(body[:3000] + (" …" if len(body) > 3000 else ""), words))
    return Group(*parts)


def _marked(text: str, words: list[str]) -> Text:
    out = Text(text)
    for a, b in _marks(text, words):
        out.stylize("bold black on yellow", a, b)
    return out


def resume_line(hit: ResultRow) -> str | None:
    """The command that continues the hit's session in Claude Code (from its project folder,
    where Claude Code keeps it)."""
    sid = hit["session_id"]
    if not sid:
        return None
    line = f"claude --resume {sid}"
    return f"cd {shlex.quote(hit['project'])} && {line}" if hit["project"] else line


def session_page(meta: Session, messages: list[Message], width: int, color: bool) -> str:
    """The whole session as `memory show session` prints it, for the pager."""
    from ..cli.sessions import render_session

    buf = io.StringIO()
    c = Console(file=buf, width=width, force_terminal=color, no_color=not color, highlight=False,
                color_system="standard" if color else None)
    render_session(meta, messages, False, 2000, c)
    return buf.getvalue()


def empty_store_note() -> str:
    return ("The store is empty: nothing captured yet.\n\nRun `memory ingest` to capture "
            "~/.claude (or `memory watch` to keep capturing), then `memory tui` again.")


def facet_rows(facets: dict[str, dict[str, int]] | None, chosen: dict[str, set[str]],
               per_facet: int = 8) -> list[tuple[str, str, int, bool]]:
    """(facet, value, count, chosen) for the sidebar: the chosen values always, the others
    by count."""
    rows: list[tuple[str, str, int, bool]] = []
    for facet in FACETS:
        counts: dict[str, Any] = (facets or {}).get(facet, {})
        keep = chosen.get(facet, set())
        values = list(keep) + [v for v in counts if v not in keep][: max(0, per_facet - len(keep))]
        rows.extend((facet, str(v), int(counts.get(v, 0)), v in keep) for v in values)
    return rows
