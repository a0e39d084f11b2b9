"""Prompts: which rows a person typed, and a prompt as a title."""

from __future__ import annotations

import re

# Where typed prompts are read from (subagent chains and injected lines are not typed).
PROMPT_KINDS = frozenset(("transcript", "history", "import"))
_TAG = re.compile(r"<(command-name|command-args)>(.*?)</\1>", re.S)


def is_prompt(type_: str, source_kind: str, is_meta: bool, is_sidechain: bool) -> bool:
    """Typed by a person in the main conversation. A history line linked to its transcript
    prompt is the same prompt: counts add `linked_uid IS NULL` so it counts once."""
    return type_ == "user" and not is_meta and not is_sidechain and source_kind in PROMPT_KINDS


def prompt_title(text: str) -> str | None:
    """A prompt as a title: slash commands as `/name args`; tool noise is no title."""
    text = text.strip()
    if "<command-name>" in text:
        parts = dict((m.group(1), m.group(2).strip()) for m in _TAG.finditer(text))
        text = f"{parts.get('command-name', '')} {parts.get('command-args', '')}".strip()
    if not text or text.startswith(("<", "[Request interrupted", "Caveat:")):
        return None
    return text[:500]
