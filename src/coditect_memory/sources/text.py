"""Turn structured values into the text a person would search for."""

from __future__ import annotations

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
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


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
                    parts.append(f"[image {(b.get('source') or {}).get('media_type', '')}]")
                else:
                    parts.append(flatten(b))
            elif isinstance(b, str):
                parts.append(b)
        return "\n".join(parts)
    if content is None:
        return ""
    return flatten(content)
