"""Rich renderables for a terminal: the summary, then each table (long tables cut, with the
count of rows left out and how to see them)."""

from __future__ import annotations

from typing import Any

from ..fmt import cell
from ..model import Report, Table

RIGHT = {"int", "float", "hours", "pct", "usd", "bytes"}
WIDE = {"list", "names", "samples"}


def _table(t: Table, limit: int) -> list[Any]:
    from rich.table import Table as RichTable
    from rich.text import Text

    if not t.rows:
        return [Text(f"{t.title}: none", style="dim")]
    rt = RichTable(title=t.title, title_justify="left", title_style="bold", box=None,
                   pad_edge=False, show_edge=False)
    cells = [[cell(r.get(c.key), c.fmt) for c in t.columns] for r in t.rows[:limit]]
    for i, c in enumerate(t.columns):
        wide = c.fmt in WIDE or c.key in ("title", "path", "root", "last_error", "signature")
        # short columns keep their width; the wide ones give way when the terminal is narrow
        fit = min(max([len(c.label), *(len(row[i]) for row in cells)]), 24)
        rt.add_column(c.label, justify="right" if c.fmt in RIGHT else "left", no_wrap=True,
                      overflow="ellipsis", min_width=10 if wide else fit,
                      max_width=50 if wide else None)
    for row in cells:
        rt.add_row(*row)
    out: list[Any] = [rt]
    if t.note:
        out.append(Text(t.note, style="dim italic"))
    if len(t.rows) > limit:
        out.append(Text(f"… {len(t.rows) - limit:,} more rows (--limit, or --format csv/json)",
                        style="dim"))
    return out


def renderables(report: Report, limit: int = 50) -> list[Any]:
    from rich.text import Text

    out: list[Any] = [Text(report.title, style="bold")]
    scope = ", ".join(f"{k} {v}" for k, v in report.filters.items() if v)
    if scope:
        out.append(Text(scope, style="dim"))
    for label, value in report.summary:
        out.append(Text.assemble((f"{label}: ", "dim"), value))
    for t in report.tables:
        out.append(Text(""))
        out.extend(_table(t, limit))
    return out
