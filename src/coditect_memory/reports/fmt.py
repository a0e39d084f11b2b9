"""Cell formatting shared by the table, Markdown and HTML renderers."""

from __future__ import annotations

import re
from typing import Any

from ..derive.prompts import prompt_title
from ..units import human_bytes

# Terminal escapes (CSI, OSC, two-byte) and control characters other than tab and newline:
# tool output keeps them in the store; rendered, they would recolour or move the terminal.
_CONTROLS = re.compile(r"(?:\x1b|\x9b)(?:\][^\x07\x1b]*(?:\x07|\x1b\\)?|\[?[0-?]*[ -/]*[@-~])"
                       r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_STDOUT_TAG = re.compile(r"</?local-command-std(?:out|err)>")


def readable(text: str | None) -> str:
    """A message's text as a person reads it (the store keeps it as it was): terminal
    escapes removed, a slash command's markup as `/name args`."""
    text = _CONTROLS.sub("", text or "")
    if "<command-name>" in text:
        return prompt_title(text) or text
    return _STDOUT_TAG.sub("", text) if "<local-command-std" in text else text


def total_cells(totals: dict[str, Any], columns: Any) -> list[str]:
    """A table's totals row: blank where a column has no total."""
    return ["" if totals.get(c.key) is None else cell(totals[c.key], c.fmt) for c in columns]


def cell(value: Any, fmt: str) -> str:
    if value is None or value == "":
        return "—"
    if fmt == "bool":
        return "yes" if value else "no"
    if fmt == "int":
        return f"{int(value):,}"
    if fmt == "count":  # a count where 0 is noise (files touched): blank
        return f"{int(value):,}" if value else ""
    if fmt == "float":
        return f"{value:,.2f}"
    if fmt == "hours":
        return f"{value:,.1f} h"
    if fmt == "pct":
        return f"{value:.1f} %"
    if fmt == "usd":
        return f"${value:,.2f}"
    if fmt == "bytes":
        return human_bytes(value)
    if fmt == "time":
        return str(value)[:16].replace("T", " ")
    if fmt == "list":
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    if fmt == "names":  # {name: count} or [{name, uses}] -> "Bash 12, Edit 3"
        if isinstance(value, dict):
            return ", ".join(f"{k} {v:,}" for k, v in value.items())
        return ", ".join(map(str, value))
    if fmt == "samples":  # error samples: the most frequent kind of message first
        return " | ".join(f"{s['signature']} (x{s['count']:,})" for s in value[:1])
    return str(value)


def number(value: float, unit: str) -> str:
    """A chart value as a person reads it."""
    if unit == "hours":
        return f"{value:,.1f} h"
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "pct":
        return f"{value:.1f} %"
    if abs(value) >= 10_000:
        return f"{value / 1000:,.0f}k" if abs(value) < 10_000_000 else f"{value / 1e6:,.1f}M"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
