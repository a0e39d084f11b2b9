"""CSV for spreadsheets: the report's main table, one row per row, every field (nested
values — lists, {name: count} maps — as one readable cell)."""

from __future__ import annotations

import csv
import io
from typing import Any

from ..model import Report


def flat(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}={flat(v)}" for k, v in value.items())
    if isinstance(value, list):
        if value and isinstance(value[0], dict) and "signature" in value[0]:
            return " | ".join(f"{v['signature']} (x{v['count']})" for v in value)
        return "; ".join(str(flat(v)) for v in value)
    if isinstance(value, bool):
        return int(value)
    return "" if value is None else value


def render(report: Report) -> str:
    rows = report.conversation if report.conversation is not None else report.rows
    keys: list[str] = []
    for r in rows:
        keys.extend(k for k in r if k not in keys)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(keys)
    for r in rows:
        w.writerow([_text(flat(r.get(k))) for k in keys])
    return out.getvalue()


def _text(v: Any) -> Any:
    if isinstance(v, str):
        return v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return v
