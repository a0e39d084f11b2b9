"""Markdown for a PR or a notebook: the summary, then each table as a GFM table."""

from __future__ import annotations

from ..fmt import cell, readable, total_cells
from ..model import Report, Table

MAX_ROWS = 200


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table(t: Table) -> list[str]:
    cols = t.columns
    right = {"int", "count", "float", "hours", "pct", "usd", "bytes"}
    lines = [f"## {t.title}", ""]
    if t.note:
        lines += [f"_{t.note}_", ""]
    if not t.rows:
        return [*lines, "(none)", ""]
    lines.append("| " + " | ".join(_esc(c.label) for c in cols) + " |")
    lines.append("|" + "|".join("---:" if c.fmt in right else "---" for c in cols) + "|")
    for r in t.rows[:MAX_ROWS]:
        lines.append("| " + " | ".join(_esc(cell(r.get(c.key), c.fmt)) for c in cols) + " |")
    if t.totals is not None:
        lines.append("| " + " | ".join(f"**{_esc(v)}**" if v else ""
                                       for v in total_cells(t.totals, cols)) + " |")
    if len(t.rows) > MAX_ROWS:
        lines.append(f"\n_{len(t.rows) - MAX_ROWS:,} more rows: use --format csv or json_")
    return [*lines, ""]


def render(report: Report) -> str:
    lines = [f"# {_esc(report.title)}", ""]
    scope = ", ".join(f"{k} {v}" for k, v in report.filters.items() if v)
    if scope:
        lines += [f"_{scope}_", ""]
    for label, value in report.summary:
        lines.append(f"- **{_esc(label)}**: {_esc(value)}")
    if report.summary:
        lines.append("")
    for t in report.tables:
        lines += table(t)
    if report.conversation is not None:
        lines += ["## Conversation", ""]
        for m in report.conversation:
            if m["linked_uid"]:  # a history line already shown as its transcript prompt
                continue
            if m["type"] in ("user", "assistant") and (m["content"] or "").strip() and not m["is_meta"]:
                who = "**you**" if m["type"] == "user" else "**claude**"
                text = " ".join(readable(m["content"]).split())[:600]
                lines.append(f"- `{(m['timestamp'] or '')[11:19]}` {who}: {_esc(text)}")
            elif m["type"] == "tool_use":
                lines.append(f"  - `{(m['timestamp'] or '')[11:19]}` → {_esc(m['tool_name'] or '?')}")
            elif m["is_error"]:
                first = readable(m["content"]).strip().split("\n", 1)[0][:200]
                lines.append(f"  - `{(m['timestamp'] or '')[11:19]}` ✗ {_esc(m['tool_name'] or m['type'])}: "
                             f"{_esc(first)}")
        lines.append("")
    return "\n".join(lines)
