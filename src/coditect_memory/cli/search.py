"""`memory search` and `memory index`: parse, open the store, call the action
(actions/search.py), render."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..sources.base import SOURCE_KINDS
from .output import (
    console,
    get_config,
    interactive,
    json_option,
    print_json,
    short_time,
    timezone_option,
)

if TYPE_CHECKING:
    from ..actions.search import IndexSummary, SearchResult

T = TypeVar("T")


class _Bar:
    """A Rich progress bar on stderr, started on the first update (none when nothing to do)."""

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.p: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.p is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.p = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(),
                              TextColumn(self.unit), TimeRemainingColumn(),
                              console=console(stderr=True), transient=True)
            self.p.start()
            self.task = self.p.add_task(self.label, total=max(total, 1))
        self.p.update(self.task, completed=done, total=max(total, 1))

    def close(self) -> None:
        if self.p is not None:
            self.p.stop()


def _bar(label: str, unit: str, quiet: bool) -> _Bar | None:
    return _Bar(label, unit) if interactive() and not quiet else None


def _run(action: Callable[..., T], request: Any, bar: _Bar | None, can_read_only: bool = False) -> T:
    """Open the store (it must exist: these commands never create one) and call the action;
    `search` reads a store it cannot write (a mounted backup, another user's) read-only."""
    import os

    from ..store import open_store

    settings = get_config()
    readonly = can_read_only and not os.access(settings.home, os.W_OK)
    try:
        with open_store(settings, readonly=readonly, create=False) as store:
            return action(store, settings, request, progress=bar)
    finally:
        if bar:
            bar.close()


_MULTI: dict[str, Any] = dict(multiple=True, metavar="VALUE")


@click.command()
@click.argument("query", nargs=-1)
@click.option("--project", "-p", **_MULTI, help="Project path or name (repeat for several).")
@click.option("--session", "-s", **_MULTI, help="Session id or a prefix of it.")
@click.option("--source", **_MULTI, help=f"Source kind: {', '.join(SOURCE_KINDS)} (todo: todo"
              " lists and tasks; plan: plans and memory notes; file_history: file versions).")
@click.option("--type", "type_", **_MULTI, help="Message type: user, assistant, tool_use, tool_result, log,"
              " file_version, plan, todos, task, shell_snapshot, session_env, ...")
@click.option("--role", **_MULTI, help="user or assistant.")
@click.option("--tool", **_MULTI, help="Tool name, e.g. Bash, Edit, Read.")
@click.option("--component", **_MULTI, help="Debug-log component, e.g. LSP, MCP, Hooks.")
@click.option("--level", **_MULTI, help="Log level: debug, info, warn, error.")
@click.option("--since", help="From this day (2025-11-15, 'Nov 15', yesterday, 7d) or ISO time.")
@click.option("--until", help="Up to this day (the whole day) or ISO time (inclusive).")
@timezone_option
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance",
              show_default=True)
@click.option("--limit", "-n", default=20, show_default=True, help="Results to show (1-1000).")
@click.option("--offset", default=0, show_default=True, help="Results to skip (paging).")
@click.option("--facets", is_flag=True, help="Counts of the matches by project, source, component, level, tool.")
@click.option("--mode", type=click.Choice(["keyword", "semantic", "hybrid"]), default=None,
              help="Default: hybrid where embeddings exist (`memory embed`), keyword otherwise.")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one row per result).")
@click.option("--interactive", "-i", is_flag=True, help="Search interactively (`memory tui`).")
def search(query: tuple[str, ...], project, session, source, type_, role, tool, component, level,
           since, until, tz, sort, limit, offset, facets, mode, as_json, as_csv, interactive) -> None:
    """Search every message: words (any may match; messages with more of them, rarer ones
    and next to each other come first), "exact phrase", prefix*, -exclude, a OR b, and
    filters inline (project:NAME tool:Bash level:error after:2025-11-01). Days in --since and
    --until begin in --timezone (default: the local zone), and the terminal view shows times
    there; inline after:/before: days are UTC. The terminal view shows a few results per
    session before the next session; --json and --csv do not.

    \b
    Examples:
      memory search auth token refresh
      memory search '"no such file" ENOENT' --source debug
      memory search alembic --project billing-api --since 2025-11-01 --facets
      memory search handler.py retry --source file_history   # old versions of a file
      memory search "what did we decide about retries" --mode hybrid --json
    """
    if interactive:
        from .tui import run_tui

        run_tui(" ".join(query), mode or "keyword", tz)
        return
    from ..actions.search import SearchRequest
    from ..actions.search import search as action
    from ..timeutil import user_bound, zone

    where = zone(tz)

    req = SearchRequest(query=" ".join(query), project=list(project), session=list(session),
                        source=list(source), type=list(type_), role=list(role), tool=list(tool),
                        component=list(component), level=list(level),
                        since=user_bound(since, False, where), until=user_bound(until, True, where),
                        sort=sort, limit=limit, offset=offset, facets=facets, mode=mode,
                        group_sessions=not (as_json or as_csv))
    out = _run(action, req, _bar("indexing", "messages", as_json or as_csv), can_read_only=True)
    if as_json:
        print_json(out.to_json())
    elif as_csv:
        _csv(out)
    else:
        _render(out, where)


def _csv(out: SearchResult) -> None:
    import csv

    cols = ["timestamp", "project", "session_id", "type", "role", "source_kind", "source_file",
            "source_line", "score", "uid", "snippet", "file_path", "file_version"]  # new ones last
    w = csv.writer(sys.stdout)
    w.writerow(cols)
    for r in out.results:
        w.writerow([r.get(c) if r.get(c) is not None else "" for c in cols])


def _highlight(text: str, marks: list[list[int]]) -> str:
    from rich.markup import escape

    parts, pos = [], 0
    for a, b in marks:
        parts.append(escape(text[pos:a]))
        parts.append(f"[bold yellow]{escape(text[a:b])}[/]")
        pos = b
    parts.append(escape(text[pos:]))
    return "".join(parts)


def _render(out: SearchResult, tz: tzinfo) -> None:
    from rich.markup import escape

    c = console()
    for note in out.notes:
        c.print(f"[dim]note: {escape(note)}[/]")
    shown = len(out.results)
    first = out.offset + 1 if shown else 0
    c.print(f"[bold]{out.total:,}[/] matches ({out.mode}, {out.took_ms:.1f} ms)"
            + (f", showing {first}-{out.offset + shown}" if shown else ""))
    for n, r in enumerate(out.results, start=out.offset + 1):
        who = r["type"] + (f" {r['tool_name']}" if r["tool_name"] else "")
        if r["source_kind"] == "file_history":  # which file, which version, whose session
            who = f"{r['file_path'] or 'file'} @v{r['file_version']} · session {(r['session_id'] or '?')[:8]}"
        where = r["project_name"] or "—"
        level, opener = r["level"], r["open"]
        c.print(f"\n[bold]{n}.[/] [cyan]{escape(where)}[/] · {short_time(r['timestamp'], tz)} · "
                f"[magenta]{escape(who)}[/] · {escape(r['source_kind'])}"
                f"{' · ' + escape(level) if level else ''}")
        c.print("   " + _highlight(r["snippet"], r["highlights"]), soft_wrap=False)
        if opener:
            c.print(f"   [dim]→ {escape(opener)}   # at {short_time(r['timestamp'], tz)}[/]")
    if out.facets is not None:
        from rich.table import Table

        for name, counts in out.facets.items():
            if not counts:
                continue
            t = Table(name, "matches", box=None, pad_edge=False, title_justify="left")
            for key, value in counts.items():
                t.add_row(escape(str(key)), f"{value:,}")
            c.print()
            c.print(t)
    if out.total > out.offset + shown and shown:
        c.print(f"\n[dim]more: --offset {out.offset + shown}[/]")


@click.command()
@click.option("--rebuild", is_flag=True, help="Rebuild the keyword index from the store.")
@json_option
def index(rebuild: bool, as_json: bool) -> None:
    """Bring the keyword search index up to date with the store (or --rebuild it). The store is
    the source of truth: the index under $MEMORY_HOME/index/ can always be rebuilt."""
    from ..actions.search import IndexRequest
    from ..actions.search import index as action

    res: IndexSummary = _run(action, IndexRequest(rebuild=rebuild), _bar("indexing", "messages", as_json))
    if as_json:
        print_json(res.to_json())
        return
    verb = "rebuilt" if res.sync.rebuilt else "updated"
    console().print(f"index {verb}: {res.sync.indexed:,} documents written in {res.sync.seconds:.1f} s "
                    f"({res.documents:,} in all)")


@click.command("version")
@click.argument("uid")
@json_option
def show_version(uid: str, as_json: bool) -> None:
    """A file version's whole content, as it was before Claude edited it (UID: the `uid` of a
    `memory search --source file_history` result). Piped, only the content is printed, so
    `memory show version UID > old.py` restores it."""
    from ..actions.search import show_version as action
    from .output import open_readonly

    with open_readonly() as store:
        v = action(store, uid)
    if as_json:
        print_json(v.to_json())
        return
    if interactive():
        from rich.markup import escape

        console().print(f"[bold]{escape(v.file_path or v.backup)}[/] @v{v.file_version} · session "
                        f"{v.session_id or '—'} · {v.size:,} bytes", highlight=False)
        console().rule()
    if v.content is None:
        console(stderr=True).print(f"binary file ({v.size:,} bytes): `memory export` writes its bytes")
        return
    sys.stdout.write(v.content)
