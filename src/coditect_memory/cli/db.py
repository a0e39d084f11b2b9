"""`memory db status|upgrade|copy`: the store's schema, and whole stores between backends."""

from __future__ import annotations

import click

from .output import console, get_config, json_option, print_json


@click.group()
def db() -> None:
    """The store's database: schema versions, upgrade, copy between SQLite and PostgreSQL.

    The store is MEMORY_DATABASE_URL (postgresql://user:pass@host/db) or [store] url in
    config.toml, else memory.db in MEMORY_HOME."""


def _show(s: dict, applied_now: list[int] | None = None) -> None:
    c = console()
    c.print(f"{s['kind']} store {s['path']}"
            + (f" (server {s['server_version']})" if s["kind"] != "sqlite" else ""))
    c.print(f"schema version {s['schema_version']}: migrations {', '.join(map(str, s['applied'])) or 'none'}")
    if applied_now:
        c.print(f"applied now: {', '.join(map(str, applied_now))}")
    if s["pending"]:
        c.print(f"[yellow]pending: {', '.join(map(str, s['pending']))}[/] (`memory db upgrade` applies them)")
    else:
        c.print("up to date")


@db.command()
@json_option
def status(as_json: bool) -> None:
    """Which backend, which server, which migrations are applied and which are pending."""
    from ..actions.db import db_status
    from ..store import open_store

    with open_store(get_config(), readonly=True, check=False) as store:
        s = db_status(store).to_json()
    if as_json:
        print_json(s)
    else:
        _show(s)


@db.command()
@json_option
def upgrade(as_json: bool) -> None:
    """Apply pending migrations (forward only; ingest also applies them on first use)."""
    from ..actions.db import db_upgrade

    result, applied = db_upgrade(get_config())
    s = {**result.to_json(), "applied_now": applied}
    if as_json:
        print_json(s)
    else:
        _show(s, applied)


@db.command()
@click.option("--from", "source", required=True, metavar="URL|PATH",
              help="The store to copy: a postgresql:// URL or a memory.db file.")
@click.option("--to", "dest", required=True, metavar="URL|PATH",
              help="Where: an empty PostgreSQL database (URL) or a new SQLite file.")
@json_option
def copy(source: str, dest: str, as_json: bool) -> None:
    """Copy a whole store between backends (SQLite to PostgreSQL when you outgrow a laptop,
    and back), verified by row counts and message digest. Interrupted, run it again: a copy
    into PostgreSQL goes on where it stopped."""
    from ..actions.db import CopyRequest, db_copy

    result = db_copy(get_config(), CopyRequest(source, dest)).to_json()
    if as_json:
        print_json(result)
        return
    console().print(f"copied {result['messages']:,} messages ({sum(result['counts'].values()):,} rows)"
                    f" from {result['source']} to {result['dest']} in {result['seconds']:.1f}s;"
                    " counts and digest verified")
