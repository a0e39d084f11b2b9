"""One self-contained HTML file: charts first (inline SVG), tables after, and for a session
its conversation. No script, no external request: it opens offline and prints cleanly."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from ..fmt import cell, readable, total_cells
from ..model import Report, Table
from .svg import draw

MAX_ROWS = 1000
RIGHT = {"int", "count", "float", "hours", "pct", "usd", "bytes"}
HIDDEN = {"progress", "file-history-snapshot", "queue-operation", "last-prompt",
          "permission-mode", "agent-setting", "turn_duration"}

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       margin: 0; padding: 24px 32px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.scope { color: #666; margin: 0 0 16px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.summary dt { color: #666; } dl.summary dd { margin: 0; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 760px), 1fr));
          gap: 8px 24px; }
figure { margin: 0; } figcaption { font-weight: 600; margin: 16px 0 4px; }
.empty { color: #888; font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f6f6f6; position: sticky; top: 0; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.d { white-space: nowrap; } td.s { white-space: pre-line; }
tr.total td { font-weight: 600; border-top: 2px solid #ccc; }
.note { color: #666; font-style: italic; margin: 0 0 6px; }
.conversation .m { margin: 6px 0; overflow-wrap: anywhere; }
.conversation .m.err { white-space: pre-wrap; }
.md > :first-child { margin-top: 0; } .md > :last-child { margin-bottom: 0; }
.md pre, .md code { background: #f3f3f3; } .md code { padding: 0 3px; }
.md table { width: auto; }
.conversation .t { color: #888; font-size: 12px; margin-right: 6px; }
.who-user { color: #0b5cad; font-weight: 600; } .who-assistant { color: #1b7f3b; font-weight: 600; }
.side { border-left: 3px solid #ddd; padding-left: 8px; }
details { margin: 2px 0 2px 16px; color: #555; } summary { cursor: pointer; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f8f8f8; padding: 6px; margin: 4px 0; }
.err { color: #b3261e; }
@media print { .charts { display: block; } th { position: static; } }
"""


def _text(value: str, kind: str) -> str:
    return unescape_newlines(value) if kind == "s" else value


def _table(t: Table) -> str:
    # figures right-aligned, dates and times never broken, text with its line breaks (error
    # signatures arrive with JSON-escaped `\n`)
    kind = ["n" if c.fmt in RIGHT else "d" if c.fmt in ("date", "time") else "s" for c in t.columns]
    head = "".join(f'<th class="{k}">{escape(c.label)}</th>' for c, k in zip(t.columns, kind, strict=True))
    body = []
    for r in t.rows[:MAX_ROWS]:
        cells = "".join(f'<td class="{k}">{escape(_text(cell(r.get(c.key), c.fmt), k))}</td>'
                        for c, k in zip(t.columns, kind, strict=True))
        body.append(f"<tr>{cells}</tr>")
    if t.totals is not None:
        cells = "".join(f'<td class="{k}">{escape(v)}</td>'
                        for k, v in zip(kind, total_cells(t.totals, t.columns), strict=True))
        body.append(f'<tr class="total">{cells}</tr>')
    more = (f'<p class="note">{len(t.rows) - MAX_ROWS:,} more rows: use --format csv or json</p>'
            if len(t.rows) > MAX_ROWS else "")
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    if not t.rows:
        return f'<h2>{escape(t.title)}</h2>{note}<p class="empty">none</p>'
    return (f"<h2>{escape(t.title)}</h2>{note}<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{more}")


def unescape_newlines(text: str) -> str:
    """Error messages often arrive JSON-escaped twice: show their `\\n` as line breaks."""
    return text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\t", "\t")


def markdown_renderer() -> Callable[[str], str]:
    """Messages' markdown as HTML (CommonMark + tables), one parser per page: raw HTML in a
    message is shown as text, and markdown-it refuses javascript:, vbscript:, file: and
    data: links."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render


def conversation(messages: Sequence[Mapping[str, Any]]) -> str:
    """A conversation as HTML (the session page's; the site's sub-agent pages too)."""
    markdown = markdown_renderer()
    out = ['<section class="conversation"><h2>Conversation</h2>']
    for m in messages:
        kind, text = m["type"], readable(m["content"])
        if kind in HIDDEN or m["is_meta"] or m["linked_uid"]:
            continue
        when = f'<span class="t">{escape((m["timestamp"] or "")[11:19])}</span>'
        side = " side" if m["is_sidechain"] else ""
        err = " err" if m["is_error"] else ""
        if kind in ("user", "assistant", "compact_summary") and text.strip():
            who = {"user": "you", "assistant": "claude"}.get(kind, "summary")
            out.append(f'<div class="m{side}{err}">{when} <span class="who-{kind}">{who}</span>'
                       f'<div class="md">{markdown(text)}</div></div>')
        elif kind in ("tool_use", "tool_result", "tool_output", "thinking"):
            label = {"tool_use": f"→ {m['tool_name'] or '?'}", "thinking": "thinking"}.get(
                kind, ("✗ error" if m["is_error"] else "← result") + f" {m['tool_name'] or ''}")
            if m["is_error"]:
                text = unescape_newlines(text)
            first = text.strip().split("\n", 1)[0][:140]
            out.append(f'<details class="{side.strip()}{err}"><summary>{when} {escape(label)} '
                       f"<span>{escape(first)}</span></summary><pre>{escape(text[:20000])}</pre></details>")
        elif m["is_error"]:
            out.append(f'<div class="m err{side}">{when} {escape(kind)}: '
                       f"{escape(unescape_newlines(text[:2000]))}</div>")
    out.append("</section>")
    return "".join(out)


def render(report: Report) -> str:
    scope = ", ".join(f"{k} {v}" for k, v in report.filters.items() if v) or "everything in the store"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
             f'<meta name="viewport" content="width=device-width, initial-scale=1">'
             f"<title>{escape(report.title)} — coditect-memory</title><style>{CSS}</style></head><body>",
             f"<header><h1>{escape(report.title)}</h1>"
             f'<p class="scope">{escape(scope)} · generated {stamp} by coditect-memory</p></header>']
    if report.summary:
        parts.append('<dl class="summary">' + "".join(
            f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in report.summary) + "</dl>")
    if report.charts:
        parts.append('<section class="charts">' + "".join(
            f"<figure><figcaption>{escape(c.title)}</figcaption>{draw(c)}</figure>"
            for c in report.charts) + "</section>")
    parts.extend(_table(t) for t in report.tables)
    if report.conversation is not None:
        parts.append(conversation(report.conversation))
    parts.append("</body></html>\n")
    return "".join(parts).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
