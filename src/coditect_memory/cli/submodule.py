"""`memory submodule add|list|remove`: groups of projects that tokens can be scoped to."""

from __future__ import annotations

import click

from .auth import open_writable
from .output import console, json_option, print_json, short_time


@click.group()
def submodule() -> None:
    """Submodules: a project belongs to the one whose --path prefix matches its working
    directory (the longest match wins); a token scoped to submodules sees only theirs."""


@submodule.command()
@click.argument("name")
@click.option("--path", "paths", multiple=True, required=True,
              help="An absolute path prefix (repeat for several).")
@click.option("--git-url", help="Where the repository lives (shown in lists).")
@json_option
def add(name: str, paths: tuple[str, ...], git_url: str | None, as_json: bool) -> None:
    """Add a submodule (or replace its paths)."""
    from ..actions import submodules as act

    with open_writable() as store:
        row = act.add(store, name, list(paths), git_url)
    if as_json:
        print_json(row)
    else:
        click.echo(f"submodule {name}: {', '.join(row['paths'])}")


@submodule.command("list")
@click.option("--machines", "show_machines", is_flag=True,
              help="The machines that sync with this server instead (`memory sync`).")
@json_option
def list_(show_machines: bool, as_json: bool) -> None:
    """Every submodule with its paths, then the machines that sync here and their last sync."""
    from ..actions import submodules as act

    with open_writable() as store:
        rows = act.list_submodules(store).to_json()
        machines = act.machines(store).to_json()
    if as_json:
        print_json(machines if show_machines else rows)
        return
    from rich.table import Table

    if not show_machines:
        t = Table("name", "paths", "git url", box=None, pad_edge=False)
        for r in rows:
            t.add_row(r["name"], "\n".join(r["paths"]), r["git_url"] or "")
        console().print(t if rows else "no submodules yet: `memory submodule add NAME --path PREFIX`")
    if machines or show_machines:
        m = Table("machine", "host", "submodule", "token", "last push", "last pull", "received",
                  "sent", box=None, pad_edge=False)
        for x in machines:
            m.add_row(x["id"][:8], x["hostname"], x["submodule"] or "", x["token_name"],
                      short_time(x["last_push_at"]), short_time(x["last_pull_at"]),
                      f"{x['rows_received']:,}", f"{x['rows_sent']:,}")
        console().print(m if machines else "no machine syncs here yet (`memory sync init` on one)")


@submodule.command()
@click.argument("name")
@json_option
def remove(name: str, as_json: bool) -> None:
    """Remove a submodule (tokens scoped to it then see nothing of it)."""
    from ..actions import submodules as act

    with open_writable() as store:
        done = act.remove(store, name)
    if as_json:
        print_json(done)
    else:
        click.echo(f"removed {name}")
