"""The rules that turn stored rows into what people count: which line is a prompt, what a
row counts for (a component or a tool), what an error says, a session's title, which history
line is which transcript prompt.

Pure Python, no SQL: every backend stores what these compute (at write time, in columns) and
its reports aggregate those columns with plain SQL. Session derivation (store/*/derive.py)
asks these modules for every decision it writes.
"""

from __future__ import annotations

from .counting import counted
from .prompts import is_prompt, prompt_title
from .signatures import signature

ROW_FACTS = ("is_prompt", "count_kind", "count_name", "error_signature")


def row_facts(type_: str, source_kind: str, is_meta: bool, is_sidechain: bool,
              component: str | None, is_error: bool, tool_name: str | None,
              content: str | None) -> tuple[int, str | None, str | None, str | None]:
    """The derived columns of one row (ROW_FACTS), filled when it is written."""
    kind, name = counted(type_, component, is_error, tool_name)
    return (int(is_prompt(type_, source_kind, is_meta, is_sidechain)), kind, name,
            signature(content) if is_error else None)


__all__ = ["ROW_FACTS", "counted", "is_prompt", "prompt_title", "row_facts", "signature"]
