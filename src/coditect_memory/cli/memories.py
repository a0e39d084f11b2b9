"""`memory memories list|show|add|edit|pin|unpin|forget|extract` and `memory related`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .output import console, get_config, json_option, print_json, short_time

T = TypeVar("T")
_TYPES = click.Choice(["decision", "preference", "fact", "error_fix", "todo", "pattern"])


def _with_store(fn: Callable[..., T], *args: Any, readonly: bool = False) -> T:
    from ..store import open_store

    with open_store(get_config(), readonly=readonly, create=False) as store:
        return fn(store, *args)


def _table(rows: list[Any]) -> None:
    from rich.table import Table

    if not rows:
        console().print("no memories (`memory ingest` extracts them; `memory memories add` adds one)")
        return
    t = Table(box=None, pad_edge=False)
    for col in ("id", "type", "project", "imp", "seen", "last seen", "text"):
        t.add_column(col, overflow="fold")
    for m in rows:
        mark = "📌 " if m["pinned"] else ""
        t.add_row(str(m["id"]), m["type"], m["project_name"] or "(all)", f"{m['importance']:.2f}",
                  str(m["seen_count"]), short_time(m["last_seen"]), mark + m["text"])
    console().print(t)


@click.group()
def memories() -> None:
    """Memories drawn from your sessions (decisions, preferences, facts, errors and their
    fixes, todos, patterns) and the ones you add. Extracted after every `memory ingest`."""


@memories.command("list")
@click.option("--project", "-p", help="Project path or name (memories of all projects come too).")
@click.option("--type", "-t", "types", type=_TYPES, multiple=True, help="Memory type (repeatable).")
@click.option("--status", default="active", show_default=True,
              help="active, archived, forgotten, done, or all.")
@click.option("--pinned", is_flag=True, help="Only pinned memories.")
@click.option("--query", "-q", help="Words the text must hold.")
@click.option("--limit", "-n", default=50, show_default=True)
@json_option
def list_(project, types, status, pinned, query, limit, as_json) -> None:
    """List memories: pinned first, then by importance."""
    from ..actions.memories import ListRequest, list_memories

    req = ListRequest(project=project, types=list(types), status=status, pinned=pinned,
                      query=query, limit=limit)
    out = _with_store(list_memories, req, readonly=True)
    if as_json:
        print_json(out.to_json())
    else:
        _table(list(out.to_json()))


def _print_view(view: Any, as_json: bool) -> None:
    data = view.to_json()
    if as_json:
        print_json(data)
        return
    c = console()
    c.print(f"[bold]memory {data['id']}[/] {data['type']}{' (pinned)' if data['pinned'] else ''}"
            f" · {data['project_name'] or 'all projects'} · {data['status']} · importance "
            f"{data['importance']:.2f} · seen {data['seen_count']}x, last {short_time(data['last_seen'])}")
    c.print(data["text"], markup=False)
    if data["entities"]:
        c.print("entities: " + ", ".join(data["entities"]), markup=False)
    for e in data["evidence"]:
        c.print(f"  from {e['uid']}  session {e['session_id'] or '—'}  {short_time(e['timestamp'])}",
                markup=False)


@memories.command()
@click.argument("memory_id", type=int)
@json_option
def show(memory_id: int, as_json: bool) -> None:
    """One memory with its evidence (the messages it came from)."""
    from ..actions.memories import show as action

    _print_view(_with_store(action, memory_id, readonly=True), as_json)


@memories.command()
@click.argument("text")
@click.option("--project", "-p", help="Project path or name (default: every project).")
@click.option("--type", "-t", "type_", type=_TYPES, default="fact", show_default=True)
@click.option("--pin", is_flag=True, help="Always in the context pack; never archived.")
@json_option
def add(text: str, project: str | None, type_: str, pin: bool, as_json: bool) -> None:
    """Remember TEXT (e.g. memory memories add "use uv, not pip" -t preference --pin)."""
    from ..actions.memories import AddRequest
    from ..actions.memories import add as action

    _print_view(_with_store(action, AddRequest(text=text, type=type_, project=project, pin=pin)), as_json)


def _edit(memory_id: int, as_json: bool, **changes: Any) -> None:
    from ..actions.memories import EditRequest, edit

    _print_view(_with_store(edit, EditRequest(memory_id=memory_id, **changes)), as_json)


@memories.command("edit")
@click.argument("memory_id", type=int)
@click.option("--text", help="New text (the memory becomes yours: extraction never overwrites it).")
@click.option("--type", "-t", "type_", type=_TYPES)
@click.option("--importance", type=float, help="0 to 1.")
@click.option("--status", help="active, archived, forgotten or done.")
@json_option
def edit_(memory_id: int, text: str | None, type_: str | None, importance: float | None,
          status: str | None, as_json: bool) -> None:
    """Change a memory's text, type, importance or status."""
    _edit(memory_id, as_json, text=text, type=type_, importance=importance, status=status)


@memories.command()
@click.argument("memory_id", type=int)
@json_option
def pin(memory_id: int, as_json: bool) -> None:
    """Pin: always in the context pack, never archived."""
    _edit(memory_id, as_json, pinned=True, status="active")


@memories.command()
@click.argument("memory_id", type=int)
@json_option
def unpin(memory_id: int, as_json: bool) -> None:
    """Unpin."""
    _edit(memory_id, as_json, pinned=False)


@memories.command()
@click.argument("memory_id", type=int)
@json_option
def forget(memory_id: int, as_json: bool) -> None:
    """Never show this memory again (kept, status forgotten; `edit --status active` undoes)."""
    _edit(memory_id, as_json, pinned=False, status="forgotten")


@memories.command()
@json_option
def extract(as_json: bool) -> None:
    """Extract from messages stored since the last extraction (ingest does this itself)."""
    from ..memories.lifecycle import extract as action

    out = _with_store(lambda store: action(store, get_config().memories))
    if as_json:
        print_json(out.to_json())
    else:
        console().print(f"{out.messages:,} messages read, {out.new:,} new memories, "
                        f"{out.archived:,} archived, in {out.seconds:.2f} s")


@click.command()
@click.argument("entity")
@click.option("--limit", "-n", default=30, show_default=True)
@json_option
def related(entity: str, limit: int, as_json: bool) -> None:
    """Everything about ENTITY (a file like alembic/env.py, a command, package or error):
    the memories naming it, the sessions they came from, the entities named with it."""
    from ..actions.memories import related as action

    out = _with_store(action, entity, limit, readonly=True).to_json()
    if as_json:
        print_json(out)
        return
    c = console()
    c.print(f"[bold]{entity}[/]: {len(out['memories'])} memories, {len(out['sessions'])} sessions")
    _table(list(out["memories"]))
    if out["sessions"]:
        c.print("sessions: " + ", ".join(f"{s['session_id'][:8]} ({short_time(s['timestamp'])})"
                                          for s in out["sessions"][:10]), markup=False)
    if out["entities"]:
        c.print("named with: " + ", ".join(f"{e['entity']} ({e['shared']})" for e in out["entities"][:15]),
                markup=False)
