"""What a report is, whatever it is rendered as: named tables of rows, charts, top fields.

Builders fill a Report from store rows; renderers (render/) format it. Keeping the rows plain
(dicts of JSON values) makes JSON the exact image of what the other formats show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Column:
    """One column of a table: the row key, its label, and how to format its cells."""

    key: str
    label: str
    fmt: str = "text"  # text, int, float, hours, pct, usd, time, date, list, names, bytes
    # On a narrow terminal the least important columns are left out first: 0 the row's key,
    # 1 cost, 2 other figures, 3 secondary figures and text, 4 lists (None: from `fmt`).
    rank: int | None = None


@dataclass
class Table:
    """A named list of rows; the main table's key is 'rows' (the JSON contract)."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""
    totals: dict[str, Any] | None = None  # a last "total" row in table, md and html (not JSON)


@dataclass
class Chart:
    """A chart the HTML format draws: 'columns' over time (stacked series) or ranked 'bars'."""

    title: str
    kind: str
    labels: list[str]
    series: list[tuple[str, list[float]]]
    unit: str = ""  # int, hours, usd, pct: how values are written


@dataclass
class Report:
    name: str
    title: str
    filters: dict[str, Any]
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # top-level JSON fields
    summary: list[tuple[str, str]] = field(default_factory=list)  # (label, value) shown first
    conversation: Sequence[Mapping[str, Any]] | None = None  # the session report's messages

    @property
    def rows(self) -> list[dict[str, Any]]:
        return next((t.rows for t in self.tables if t.key == "rows"), [])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"report": self.name, "filters": self.filters, **self.meta}
        for t in self.tables:
            out[t.key] = t.rows
        if self.conversation is not None:
            out["rows"] = self.conversation
        return out


def col(key: str, label: str | None = None, fmt: str = "text", rank: int | None = None) -> Column:
    return Column(key, label or key.replace("_", " "), fmt, rank)
