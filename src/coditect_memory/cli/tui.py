"""`memory tui`: the interactive search (tui/), on the store opened read-only."""

from __future__ import annotations

import sys

import click

from ..errors import UsageError
from .output import get_config, open_readonly, timezone_option


@click.command()
@click.argument("query", nargs=-1)
@click.option("--mode", type=click.Choice(["keyword", "hybrid", "semantic"]), default="keyword",
              show_default=True, help="Search mode to start in (ctrl+t switches).")
@timezone_option
def tui(query: tuple[str, ...], mode: str, tz: str | None) -> None:
    """Search interactively: results as you type, facets with counts (project, source, type,
    role), a date range, a preview of the hit in its session, the whole session in a pager,
    and the `claude --resume ID` line to continue it. `?` lists the keys; q or esc quits.

    \b
    memory tui
    memory tui alembic migration --timezone Europe/Paris
    """
    run_tui(" ".join(query), mode, tz)


def run_tui(query: str, mode: str, tz: str | None) -> None:
    """`memory tui` and `memory search -i`: on a terminal only."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("memory tui needs a terminal; for scripts use `memory search ... --json`")
    from ..timeutil import zone
    from ..tui.app import MemoryTUI

    settings = get_config()
    with open_readonly() as store:
        MemoryTUI(store, settings, zone(tz), query, mode).run()
