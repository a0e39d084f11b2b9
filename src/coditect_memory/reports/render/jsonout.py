"""JSON for scripts: the Report's to_json(), indented, UTF-8 (lone surrogates kept escaped)."""

from __future__ import annotations

import json

import orjson

from ..model import Report


def render(report: Report) -> str:
    data = report.to_json()
    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # text with a lone surrogate (real transcripts have them)
        return json.dumps(data, indent=2, default=str)
