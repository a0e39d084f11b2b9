"""`memory audit list` and `memory audit verify`."""

from __future__ import annotations

import click

from .output import console, get_config, json_option, open_readonly, print_json


@click.group()
def audit() -> None:
    """The audit log: who forgot, exported, backed up or restored what, when and why."""


@audit.command("list")
@click.option("--since", help="Entries at or after this time (2025-11-15 or ISO).")
@json_option
def list_(since: str | None, as_json: bool) -> None:
    """The entries, oldest first (never any message content)."""
    from ..actions.audit import list_entries
    from ..timeutil import parse_user_time

    with open_readonly() as store:
        result = list_entries(store, parse_user_time(since) if since else None,
                              home=get_config().home)
    if as_json:
        print_json(result.to_json())
        return
    from rich.table import Table

    t = Table("seq", "when", "actor", "action", "target", "reason", box=None, pad_edge=False)
    for e in result.entries:
        t.add_row(str(e["seq"] or "pending"), (e["at"] or "")[:19], e["actor"], e["action"],
                  (e["target"] or "")[:60], e["reason"] or "")
    console().print(t)


@audit.command()
@json_option
def verify(as_json: bool) -> None:
    """Check the hash chain; exits 21 naming the first entry edited, removed or reordered."""
    from ..actions.audit import verify as run_verify

    with open_readonly() as store:
        result = run_verify(store)
    if as_json:
        print_json(result.to_json())
    else:
        console().print(f"audit log intact: {result.entries:,} entries, last hash "
                        f"{result.last_hash[:16]}…")
