"""What a row counts for in component-usage and error-analysis: one name at most."""

from __future__ import annotations

API = "API"  # an API error reply names no component; it counts for the API


def component_of(type_: str, component: str | None, is_error: bool) -> str | None:
    """The row's own component, or API for an API error reply (which has none)."""
    if component is not None:
        return component
    return API if type_ == "assistant" and is_error else None


def counted(type_: str, component: str | None, is_error: bool,
            tool_name: str | None) -> tuple[str | None, str | None]:
    """(kind, name): ('component', its component), else ('tool', the tool it calls or failed
    in), else (None, None). A row counts as a use when its kind is 'component' or it is a
    tool call (type tool_use); an error row with a tool counts against that tool."""
    comp = component_of(type_, component, is_error)
    if comp is not None:
        return "component", comp
    if tool_name is not None and (type_ == "tool_use" or is_error):
        return "tool", tool_name
    return None, None
