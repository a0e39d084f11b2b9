"""`memory auth token|list|revoke`: API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .output import console, get_config, json_option, print_json, short_time

if TYPE_CHECKING:
    from ..store.base import Store


def open_writable() -> Store:
    """The store, made when there is none yet (a token or a submodule can come first)."""
    from ..store import open_store

    return open_store(get_config())


@click.group()
def auth() -> None:
    """API tokens for `memory serve`: make one, list them, revoke one (at once, no restart)."""


@auth.command()
@click.option("--name", required=True, help="Who or what uses the token (shown in audits).")
@click.option("--scope", required=True, type=click.Choice(["read", "write", "admin", "metrics"]),
              help="read: every GET; write: also ingest and edits; admin: also backups; "
                   "metrics: only /metrics.")
@click.option("--submodule", "submodules", multiple=True,
              help="Only this submodule's projects (repeat for several; none: everything).")
@click.option("--ttl", default="90d", show_default=True, help="Lifetime: 12h, 90d, 2w, or never.")
@json_option
def token(name: str, scope: str, submodules: tuple[str, ...], ttl: str, as_json: bool) -> None:
    """Make a token; it is printed once (only its id is kept)."""
    from ..actions import auth as act

    settings = get_config()
    with open_writable() as store:
        issued = act.issue(store, settings, name, scope, list(submodules), ttl)
    if as_json:
        print_json(issued.to_json())
        return
    click.echo(issued.token)
    row = issued.row
    click.echo(f"id {row['id']}, scope {row['scope']}, "
               f"{'submodules ' + ', '.join(row['submodules']) if row['submodules'] else 'all submodules'}, "
               f"expires {short_time(row['expires_at']) if row['expires_at'] else 'never'}; "
               "use it as `Authorization: Bearer <token>`", err=True)


@auth.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Every token made: id, name, scope, submodules, expiry, revoked."""
    from ..actions import auth as act

    with open_writable() as store:
        rows = act.list_tokens(store).to_json()
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    t = Table("id", "name", "scope", "submodules", "created", "expires", "revoked", box=None,
              pad_edge=False)
    for r in rows:
        t.add_row(r["id"], r["name"], r["scope"], ", ".join(r["submodules"]) or "all",
                  short_time(r["created_at"]), short_time(r["expires_at"]) if r["expires_at"] else "never",
                  short_time(r["revoked_at"]) if r["revoked_at"] else "")
    console().print(t if rows else "no tokens yet: `memory auth token --name NAME --scope read`")


@auth.command()
@click.argument("token_id")
@json_option
def revoke(token_id: str, as_json: bool) -> None:
    """Revoke a token by its id: refused from the next request on."""
    from ..actions import auth as act

    with open_writable() as store:
        done = act.revoke(store, token_id, get_config().home)
    if as_json:
        print_json(done.to_json())
    else:
        click.echo(f"revoked {token_id}")
