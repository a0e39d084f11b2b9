"""`memory sessions` and `memory show session ID`."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

import click

from ..store.base import Message, Session
from .output import console, json_option, open_readonly, print_json, short_time, timezone_option
from .search import show_version

if TYPE_CHECKING:
    from rich.console import Console


@click.command()
@click.option("--project", "-p", help="Project path or name.")
@click.option("--limit", default=50, show_default=True)
@timezone_option
@json_option
def sessions(project: str | None, limit: int, tz: str | None, as_json: bool) -> None:
    """List sessions, newest first, with their project and title; start times in --timezone
    (default: the local zone; --json keeps ISO UTC)."""
    from ..actions.browse import sessions as list_sessions
    from ..timeutil import zone as zone_of

    zone = zone_of(tz)

    with open_readonly() as store:
        rows = list_sessions(store, project, limit).sessions
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    t = Table("session", "started", "project", "msgs", "prompts", "errors", "title",
              box=None, pad_edge=False)
    for r in rows:
        t.add_row(r["session_id"][:8], short_time(r["started_at"], zone), r["project_name"] or "—",
                  f"{r['message_count']:,}", f"{r['prompt_count']:,}", f"{r['error_count']:,}",
                  (r["title"] or "")[:70])
    console().print(t)


@click.group()
def show() -> None:
    """Show one thing from the store in full."""


show.add_command(show_version)  # `memory show version UID`: a file version's content (search hits)


@show.command("session")
@click.argument("session_id")
@click.option("--all", "show_all", is_flag=True,
              help="Also show progress, bookkeeping and debug-log lines (warnings and errors always show).")
@click.option("--width", default=400, show_default=True, help="Characters shown per message.")
@timezone_option
@json_option
def show_session(session_id: str, show_all: bool, width: int, tz: str | None, as_json: bool) -> None:
    """The conversation of SESSION_ID (or a unique prefix) in order: prompts, answers,
    tool calls and results, errors marked; times in --timezone (default: the local zone)."""
    from ..actions.browse import show_session as view
    from ..timeutil import zone

    where = zone(tz)

    with open_readonly() as store:
        result = view(store, session_id, show_all)
    if as_json:
        print_json(result.to_json())
        return
    render_session(result.session, result.visible, True, width, tz=where)


def _clip(text: str, width: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= width else text[:width] + f" … (+{len(text) - width:,} chars)"


def render_session(meta: Session, messages: list[Message], show_all: bool, width: int,
                   c: Console | None = None, tz: tzinfo | None = None) -> None:
    """The messages as a conversation (bookkeeping left out unless `show_all`), on `c`
    (a file for `report session --out`) or standard output; times in `tz` (None: UTC)."""
    from rich.markup import escape

    from ..actions.browse import visible
    from ..reports.fmt import readable
    from ..timeutil import clock

    c = c or console()
    c.print(f"[bold]{escape(readable(meta['title']) or meta['session_id'])}[/]")
    c.print(f"session {meta['session_id']} · {meta['project'] or '—'} · "
            f"{short_time(meta['started_at'], tz)} → {short_time(meta['ended_at'], tz)} · "
            f"{meta['message_count']:,} messages · branch {meta['git_branch'] or '—'} · "
            f"{meta['model'] or ''} · Claude Code {meta['version'] or '?'}")
    c.rule()
    for m in visible(messages, show_all):
        kind = m["type"]
        content = readable(m["content"])
        when = clock(m["timestamp"], tz, "%H:%M:%S") or ""
        bar = "[dim]│ [/]" if m["is_sidechain"] else ""
        err = "[red]✗ [/]" if m["is_error"] else ""
        text = escape(_clip(content, width))
        if kind == "user" or kind == "compact_summary":
            label = "[bold cyan]you[/]" if kind == "user" else "[magenta]summary[/]"
            c.print(f"{bar}[dim]{when}[/] {label} {err}{text}")
        elif kind == "assistant":
            c.print(f"{bar}[dim]{when}[/] [bold green]claude[/] {err}{text}")
        elif kind == "thinking":
            c.print(f"{bar}[dim]{when} thinking {escape(_clip(content, 160))}[/]")
        elif kind == "tool_use":
            c.print(f"{bar}[dim]{when}[/] [yellow]→ {escape(m['tool_name'] or '?')}[/] "
                    f"[dim]{escape(_clip(content, 200))}[/]")
        elif kind in ("tool_result", "tool_output"):
            lines = content.count("\n") + 1
            head = escape(_clip(content.split("\n", 1)[0], 160))
            mark = "[red]✗ error[/]" if m["is_error"] else "[dim]←[/]"
            c.print(f"{bar}[dim]{when}[/] {mark} [dim]{head} ({lines} lines)[/]")
        else:
            c.print(f"{bar}[dim]{when} {escape(kind)}[/] {err}[dim]{escape(_clip(content, 200))}[/]")
