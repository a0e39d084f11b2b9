"""Charts as inline SVG, drawn in Python: no script, no CDN, readable offline and in print.

Two shapes cover the reports: `columns` (values over time, series stacked) and `bars`
(a ranking, largest first). Each mark carries a <title>, so hovering shows the exact value.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from html import escape

from ..fmt import number
from ..model import Chart

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
WIDTH = 760
FONT_PX = 12  # charts are drawn at their size in px: scaled down only on a narrow screen
FONT = f'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="{FONT_PX}"'
MIN_MARK = 3.0  # px: a day or a bar with a small value is still seen


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above `value` (round axis ends)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= value)


def _short(label: str, n: int) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _svg(height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" style="max-width:100%;height:auto" role="img" '
            f'aria-label="{escape(title)}" {FONT}>' + "".join(body) + "</svg>")


def _continuous(chart: Chart) -> Chart:
    """Days with nothing are drawn as gaps, not skipped: fill the calendar between the first
    and last day (charts over time label their columns YYYY-MM-DD)."""
    labels = chart.labels
    if not labels or not all(len(x) == 10 and x[4] == "-" and x[7] == "-" for x in labels):
        return chart
    try:
        first, last = date.fromisoformat(labels[0]), date.fromisoformat(labels[-1])
    except ValueError:
        return chart
    if (last - first).days > 3660 or (last - first).days + 1 == len(labels):
        return chart
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    index = {d: i for i, d in enumerate(days)}
    series = []
    for name, values in chart.series:
        full = [0.0] * len(days)
        for label, v in zip(labels, values, strict=True):
            full[index[label]] += v
        series.append((name, full))
    return Chart(chart.title, chart.kind, days, series, chart.unit)


def _legend(names: list[str], top: int, left: int) -> tuple[list[str], int]:
    """Legend entries, wrapped to the width; returns the marks and the height they take."""
    body: list[str] = []
    x: float = left
    y = top
    for j, name in enumerate(names):
        text = _short(name, 28)
        w = 22 + 7.0 * len(text)
        if x + w > WIDTH and x > left:
            x, y = left, y + 16
        body.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        body.append(f'<text x="{x + 14}" y="{y + 9}" fill="#333">{escape(text)}</text>')
        x += w
    return body, y - top + 16


def columns(chart: Chart) -> str:
    chart = _continuous(chart)
    n = len(chart.labels)
    if not n:
        return '<p class="empty">no data in range</p>'
    left, right, top, axis = 58, 10, 10, 190
    plot_w, plot_h = WIDTH - left - right, axis - top
    totals = [sum(s[1][i] for s in chart.series) for i in range(n)]
    step_y = nice_ceiling(max(totals) / 4)
    ceil = 4 * step_y
    step = plot_w / n
    gap = step * 0.18 if n <= 60 else 0.0
    body = []
    for k in range(5):
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#e3e3e3"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                    f'{escape(number(step_y * k, chart.unit))}</text>')
    for i, label in enumerate(chart.labels):
        x = left + i * step + gap / 2
        y = top + plot_h
        for j, (name, values) in enumerate(chart.series):
            v = values[i]
            if not v:
                continue
            h = plot_h * v / ceil
            y -= h
            tip = f"{label} — {name}: {number(v, chart.unit)}" if len(chart.series) > 1 else \
                f"{label}: {number(v, chart.unit)}"
            width = max(step - gap, MIN_MARK)
            body.append(f'<rect x="{x - (width - step + gap) / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
                        f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                        f'<title>{escape(tip)}</title></rect>')
    every = max(1, math.ceil(n / 8))
    year = None
    for i in range(0, n, every):
        label = chart.labels[i]
        text = _short(label, 12)
        if len(label) == 10 and label[4] == "-":  # a day: the year when it changes, else MM-DD
            text = label if label[:4] != year else label[5:]
            year = label[:4]
        body.append(f'<text x="{left + (i + 0.5) * step:.1f}" y="{axis + 16}" '
                    f'text-anchor="middle" fill="#555">{escape(text)}</text>')
    height = axis + 26
    if len(chart.series) > 1:
        marks, used = _legend([name for name, _ in chart.series], height, left)
        body += marks
        height += used + 4
    return _svg(height, body, chart.title)


def bars(chart: Chart, limit: int = 20) -> str:
    values = chart.series[0][1] if chart.series else []
    items = [(lab, v) for lab, v in zip(chart.labels, values, strict=False) if v][:limit]
    if not items:
        return '<p class="empty">no data in range</p>'
    row, left, right = 22, 230, 80
    height = row * len(items) + 8
    ceil = max(v for _, v in items)
    plot_w = WIDTH - left - right
    body = []
    for i, (label, v) in enumerate(items):
        y = 4 + i * row
        w = plot_w * v / ceil if ceil else 0
        body.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" fill="#333">'
                    f'<title>{escape(label)}</title>{escape(_short(label, 34))}</text>')
        body.append(f'<rect x="{left}" y="{y + 3}" width="{max(w, MIN_MARK):.1f}" height="{row - 7}" '
                    f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(number(v, chart.unit))}'
                    f'</title></rect>')
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 14}" fill="#555">'
                    f'{escape(number(v, chart.unit))}</text>')
    return _svg(height, body, chart.title)


def draw(chart: Chart) -> str:
    return columns(chart) if chart.kind == "columns" else bars(chart)
