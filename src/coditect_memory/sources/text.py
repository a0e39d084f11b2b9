"""Turn structured values into the text a person would search for."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

MAX_FLAT = 20_000


def flatten(value: Any, limit: int = MAX_FLAT) -> str:
    """The string leaves of a JSON value, joined by newlines, up to `limit` characters."""
    out: list[str] = []
    size = 0
    stack = [value]
    while stack and size < limit:
        v = stack.pop()
        if isinstance(v, str):
            if v:
                out.append(v)
                size += len(v) + 1
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out.append(str(v))
            size += 8
    return "\n".join(out)[:limit]


def compact_json(value: Any) -> str:
    """Compact JSON text of a parsed value.

    orjson writes at most 254 levels of nesting, but the parser accepts more: a deeper line
    is written by `_deep_json` instead of failing the run.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return _deep_json(value)


class _Raw(str):
    """Text already in JSON form, on the work stack of `_deep_json`."""


def _deep_json(value: Any) -> str:
    """JSON text of any parsed value without recursion (so without a depth limit)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, _Raw):
            out.append(v)
        elif isinstance(v, dict):
            stack.append(_Raw("}"))
            for i, (k, x) in reversed(list(enumerate(v.items()))):
                stack.append(x)
                stack.append(_Raw(("," if i else "") + json.dumps(str(k), ensure_ascii=False) + ":"))
            out.append("{")
        elif isinstance(v, list | tuple):
            stack.append(_Raw("]"))
            for i, x in reversed(list(enumerate(v))):
                stack.append(x)
                if i:
                    stack.append(_Raw(","))
            out.append("[")
        elif isinstance(v, float) and not math.isfinite(v):
            out.append("null")  # as orjson writes NaN and infinities
        elif v is None or isinstance(v, str | int | float | bool):
            out.append(json.dumps(v, ensure_ascii=False))
        else:
            out.append(json.dumps(str(v), ensure_ascii=False))
    return "".join(out)


def blocks_text(content: Any) -> str:
    """Text of a tool_result's content: a string, or the text of its blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, dict):
                if b.get("type") == "text":
                    parts.append(str(b.get("text", "")))
                elif b.get("type") == "image":
                    source = b["source"] if isinstance(b.get("source"), dict) else {}
                    parts.append(f"[image {source.get('media_type', '')}]")
                else:
                    parts.append(flatten(b))
            elif isinstance(b, str):
                parts.append(b)
        return "\n".join(parts)
    if content is None:
        return ""
    return flatten(content)
