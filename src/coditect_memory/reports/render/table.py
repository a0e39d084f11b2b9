"""Rich renderables for a terminal: the summary, then each table (long tables cut, with the
count of rows left out and how to see them)."""

from __future__ import annotations

from typing import Any

from ..fmt import cell, total_cells
from ..model import Column, Report, Table

RIGHT = {"int", "count", "float", "hours", "pct", "usd", "bytes"}
WIDE = {"list", "names", "samples"}
GAP = 2  # spaces between columns (box=None, padding 1 each side)


def _rank(i: int, c: Column) -> int:
    if c.rank is not None:
        return c.rank
    if i == 0:
        return 0
    return 1 if c.fmt == "usd" else 2 if c.fmt in RIGHT | {"time", "date"} else \
        4 if c.fmt in WIDE else 3


def fit(columns: list[Column], natural: list[int], width: int | None) -> tuple[list[int], list[int]]:
    """Which columns to show and how wide, within `width` characters (None: all, full):
    text shrinks first (to 10 characters, 12 for the key), then the least important columns
    are left out (the rightmost of a rank first). Figures are never cut."""
    shown = list(range(len(columns)))
    widths = list(natural)
    if width is None:
        return shown, widths
    least = [n if c.fmt in RIGHT | {"time", "date"} else min(n, 12 if i == 0 else 10)
             for i, (c, n) in enumerate(zip(columns, natural, strict=True))]

    def need(idx: list[int], w: list[int]) -> int:
        return sum(w[i] for i in idx) + GAP * (len(idx) - 1)

    order = sorted(shown, key=lambda i: (_rank(i, columns[i]), i))
    while len(shown) > 1 and need(shown, least) > width:
        shown.remove(order.pop())
    excess = need(shown, widths) - width
    while excess > 0:  # take a character from the text column with the most to spare
        i = max(shown, key=lambda j: widths[j] - least[j])
        if widths[i] <= least[i]:
            break
        widths[i] -= 1
        excess -= 1
    return shown, widths


def _table(t: Table, limit: int, width: int | None) -> list[Any]:
    from rich.table import Table as RichTable
    from rich.text import Text

    if not t.rows:
        return [Text(f"{t.title}: none", style="dim")]
    cells = [[cell(r.get(c.key), c.fmt) for c in t.columns] for r in t.rows[:limit]]
    if t.totals is not None:
        cells.append(total_cells(t.totals, t.columns))
    natural = [max([len(c.label), *(len(row[i]) for row in cells)]) for i, c in enumerate(t.columns)]
    shown, widths = fit(t.columns, natural, width)
    rt = RichTable(title=t.title, title_justify="left", title_style="bold", box=None,
                   pad_edge=False, show_edge=False, show_footer=False,
                   width=sum(widths[i] for i in shown) + GAP * (len(shown) - 1))
    for i in shown:
        c = t.columns[i]
        rt.add_column(c.label, justify="right" if c.fmt in RIGHT else "left", no_wrap=True,
                      overflow="ellipsis", width=widths[i])
    for n, row in enumerate(cells):
        last = t.totals is not None and n == len(cells) - 1
        rt.add_row(*(row[i] for i in shown), style="bold" if last else None)
    out: list[Any] = [rt]
    if t.note:
        out.append(Text(t.note, style="dim italic"))
    left_out = [t.columns[i].label for i in range(len(t.columns)) if i not in shown]
    cut = any(widths[i] < natural[i] for i in shown)
    if left_out or cut:
        said = [f"left out: {', '.join(left_out)}"] if left_out else []
        said += ["… marks a shortened cell"] if cut else []
        out.append(Text(f"to fit {width} columns: {'; '.join(said)} (a wider terminal, or "
                        "--format csv/json, shows everything)", style="dim"))
    if len(t.rows) > limit:
        out.append(Text(f"… {len(t.rows) - limit:,} more rows (--limit, or --format csv/json)",
                        style="dim"))
    return out


def renderables(report: Report, limit: int = 50, width: int | None = None) -> list[Any]:
    """`width`: the terminal's columns that tables must fit; None (piped): every column in
    full."""
    from rich.text import Text

    out: list[Any] = [Text(report.title, style="bold")]
    scope = ", ".join(f"{k} {v}" for k, v in report.filters.items() if v)
    if scope:
        out.append(Text(scope, style="dim"))
    for label, value in report.summary:
        out.append(Text.assemble((f"{label}: ", "dim"), value))
    for t in report.tables:
        out.append(Text(""))
        out.extend(_table(t, limit, width))
    return out
