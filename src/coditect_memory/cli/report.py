"""`memory report NAME` and `memory timeline DAY|RANGE`: thin doors onto reports/."""

from __future__ import annotations

import os
import sys
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from ..actions.reports import REPORTS

if TYPE_CHECKING:
    from ..reports.builder import UsageBy
from ..units import count
from .output import (
    console,
    get_config,
    json_option,
    open_readonly,
    print_json,
    short_time,
    timezone_option,
    working,
)

# the first report on a store builds its daily rollups (about 10 s a million messages)
_WORKING = "reading the store (the first report also builds its daily tables)…"

NAMES = tuple(REPORTS)
FORMATS = ("table", "json", "csv", "md", "html")


def _help() -> str:
    lines = [f"  {name:<20} {help_}" for name, (_, _, help_) in REPORTS.items()]
    return "\b\nReports:\n" + "\n".join(lines)


@click.command(epilog=_help())
@click.argument("name", type=click.Choice(NAMES), metavar="NAME")
@click.argument("session_id", required=False, metavar="[SESSION_ID]")
@click.option("--since", help="From this day or time (2025-11-15, 'Nov 15', 7d, ISO time).")
@click.option("--until", help="Up to this day (included) or time (excluded).")
@click.option("--project", "-p", help="Only this project (path or name).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: table).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.option("--by", type=click.Choice(("day", "week", "month", "session", "model", "project",
                                         "block")), default="day", show_default=True,
              help="usage: what one row is (block: Claude's 5-hour billing windows).")
@timezone_option
@click.option("--all", "show_all", is_flag=True, help="extraction-progress: list every source file.")
@click.option("--limit", default=50, show_default=True, help="Rows shown per table (table format).")
@json_option
def report(name: str, session_id: str | None, since: str | None, until: str | None,
           project: str | None, fmt: str | None, out: Path | None, by: str, tz: str | None,
           show_all: bool, limit: int, as_json: bool) -> None:
    """Reports over everything captured: NAME is one of the reports below; `session` takes a
    SESSION_ID (or a unique prefix). Days begin in --timezone (default: the local zone).

    \b
    memory report project-activity --since 2025-11-01
    memory report usage --by model --json
    memory report usage --by block --since today
    memory report error-analysis --project my-app --format html --out errors.html
    memory report session 3f2a --format md
    """
    from ..actions import reports as act
    from ..reports.render import render

    fmt = "json" if as_json else fmt or "table"
    filters = act.ReportFilters(since, until, project, timezone=tz)
    options = act.Options(session_id=session_id, by=cast("UsageBy", by), every=show_all,
                          charts=fmt == "html")
    act.check(name, filters, options)  # a wrong request says so before the store is opened
    config = get_config()
    with open_readonly() as store, working(_WORKING):
        rep = act.report(store, config, name, filters, options)
    if fmt == "table":
        _print_table(rep, limit, out)
        return
    if fmt == "html" and out is None and sys.stdout.isatty():
        out = Path(f"memory-{name}.html")
    text = render(rep, fmt)
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    click.echo(f"wrote {out} ({out.stat().st_size:,} bytes)", err=True)


def _print_table(rep, limit: int, out: Path | None) -> None:
    """On a terminal: tables fit its width (Rich reads it, or COLUMNS). Piped or to a file:
    plain text without padding, every column in full (piped output fits COLUMNS if set)."""
    if out is None and sys.stdout.isatty():
        c = console()
        _emit(c, rep, limit, c.width)
        return
    import io

    from rich.console import Console

    columns = os.environ.get("COLUMNS", "") if out is None else ""
    width = int(columns) if columns.isdigit() and int(columns) > 0 else None
    buf = io.StringIO()
    _emit(Console(file=buf, width=width or 200, no_color=True, highlight=False,
                  force_terminal=False), rep, limit, width)
    text = "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}", err=True)


def _emit(c, rep, limit: int, width: int | None) -> None:
    from ..reports.render.table import renderables

    for r in renderables(rep, limit, width):
        c.print(r, crop=False)  # a table sized to fit (or in full when piped) is never cropped
    if rep.conversation is not None:
        from .sessions import render_session

        c.print()
        render_session(rep.meta, rep.conversation, False, 400, c)


@click.command()
@click.argument("when", required=False, metavar="[DAY|RANGE]")
@click.option("--project", "-p", help="Only this project (path or name).")
@timezone_option
@json_option
def timeline(when: str | None, project: str | None, tz: str | None, as_json: bool) -> None:
    """What happened on a day: sessions in order with their titles and first prompts,
    projects, tools and errors. DAY is 2025-11-15, 'Nov 15', today, yesterday or 3d; RANGE is
    FROM..TO (both days included). Without one: the last day with activity. Days begin, and
    times are shown, in --timezone (default: the local zone; --json times stay ISO UTC).
    """
    from ..actions import reports as act
    from ..timeutil import zone

    where = zone(tz)
    config = get_config()
    with open_readonly() as store, working(_WORKING):
        view = act.timeline(store, config, when, project, tz=where).to_json()
    if as_json:
        print_json(view)
        return
    _print_day_view(view, when, where)


def _print_day_view(view: dict, when: str | None, tz: tzinfo) -> None:
    from rich.markup import escape

    from ..timeutil import clock

    c = console()
    if not view["days"]:
        c.print(f"nothing recorded {'on ' + when if when else 'yet'} (days in {view['timezone']})")
        return
    for day in view["days"]:
        from datetime import date

        d = date.fromisoformat(day["date"])
        c.print(f"[bold]{d.strftime('%A %d %B %Y')}[/] — {count(len(day['sessions']), 'session')}, "
                f"{day['hours']:.1f} h active, {count(day['messages'], 'message')}, "
                f"{count(day['errors'], 'error')} · {escape(', '.join(day['projects']))}")
        for s in day["sessions"]:
            span = f"{short_time(s['from'], tz)[11:]}–{short_time(s['to'], tz)[11:]}"
            c.print(f"  [cyan]{span}[/] [bold]{escape(s['project_name'])}[/]"
                    f"{' (' + escape(s['git_branch']) + ')' if s['git_branch'] else ''}  "
                    f"{escape((s['title'] or '')[:100])}  [dim]{s['session_id'][:8]}[/]")
            if s["first_prompt"] and s["first_prompt"] != s["title"]:
                c.print(f"    [dim]first prompt:[/] {escape(' '.join(s['first_prompt'].split())[:160])}")
            for p in s["prompts_said"][:3]:
                c.print(f"    [dim]{clock(p['timestamp'], tz, '%H:%M')} you:[/] {escape(' '.join(p['text'].split())[:140])}")
            tools = ", ".join(f"{k} {v}" for k, v in list(s["tools"].items())[:6])
            c.print(f"    [dim]{count(s['prompts'], 'prompt')} · {count(s['tool_calls'], 'tool call')}"
                    f"{' (' + escape(tools) + ')' if tools else ''} · {s['hours']:.1f} h[/]"
                    + (f" · [red]{count(s['errors'], 'error')}[/]" if s["errors"] else ""))
            for e in s["error_samples"][:2]:
                c.print(f"    [red]✗[/] [dim]{clock(e['timestamp'], tz, '%H:%M')} {escape(e['component'])}:[/] "
                        f"{escape(' '.join(e['message'].split())[:140])}")
        if day["outside_sessions"]:
            c.print(f"  [dim]+ {day['outside_sessions']:,} rows outside sessions "
                    "(history lines without a session id, snapshots)[/]")
        c.print()
