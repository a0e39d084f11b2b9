"""`memory checkpoint create|list|show|export|import` (actions/checkpoints.py)."""

from __future__ import annotations

from pathlib import Path

import click

from .output import console, get_config, json_option, print_json, short_time


def _store(readonly: bool = False):
    from ..store import open_store

    return open_store(get_config(), readonly=readonly, create=False)


@click.group()
def checkpoint() -> None:
    """Immutable snapshots of a project's context: the pack, the session's summary, open
    todos, git branch and commit. Portable JSON (docs/checkpoints.md)."""


@checkpoint.command()
@click.option("--project", "-p", help="Project path or name (default: the current folder's).")
@click.option("--session", "-s", help="The session it follows (default: the project's latest).")
@click.option("--note", help="Why this checkpoint.")
@click.option("--budget", "-b", type=int, help="Tokens of its pack.")
@json_option
def create(project: str | None, session: str | None, note: str | None, budget: int | None,
           as_json: bool) -> None:
    """Snapshot a project's context now."""
    import os

    from ..actions.checkpoints import CheckpointRequest
    from ..actions.checkpoints import create as action

    with _store() as store:
        body = action(store, get_config(), CheckpointRequest(
            project=project, cwd=None if project or session else os.getcwd(), session=session,
            note=note, budget=budget))
    if as_json:
        print_json(body)
    else:
        console().print(f"checkpoint {body['id']} of {body['project_name'] or body['project']}: "
                        f"{len(body['pack']['items'])} items, {body['pack']['tokens']} tokens",
                        markup=False)


@checkpoint.command("list")
@click.option("--project", "-p", help="Project path or name.")
@click.option("--limit", "-n", default=50, show_default=True)
@json_option
def list_(project: str | None, limit: int, as_json: bool) -> None:
    """Checkpoints, newest first."""
    from ..actions.checkpoints import list_ as action

    with _store(readonly=True) as store:
        rows = action(store, project, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print("no checkpoints (`memory checkpoint create`)")
    for r in rows:
        console().print(f"{r['id']}  {short_time(r['created_at'])}  {r['project'] or '—'}  "
                        f"{r['tokens']} tokens  {r['note'] or ''}", markup=False)


@checkpoint.command()
@click.argument("checkpoint_id")
@json_option
def show(checkpoint_id: str, as_json: bool) -> None:
    """A checkpoint: its pack as markdown (the whole record with --json)."""
    from ..actions.checkpoints import get

    with _store(readonly=True) as store:
        body = get(store, checkpoint_id)
    if as_json:
        print_json(body)
        return
    c = console()
    c.print(f"checkpoint {body['id']} · {short_time(body['created_at'])} · session "
            f"{body['session_id'] or '—'} · git {body['git']['branch'] or '—'} "
            f"{(body['git']['commit'] or '')[:12]}", markup=False)
    if body.get("note"):
        c.print(f"note: {body['note']}", markup=False)
    click.echo(body["pack"]["markdown"], nl=False)


@checkpoint.command()
@click.argument("checkpoint_id")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@json_option
def export(checkpoint_id: str, file: Path, as_json: bool) -> None:
    """Write a checkpoint to FILE (JSON)."""
    from ..actions.checkpoints import export as action

    with _store(readonly=True) as store:
        out = action(store, checkpoint_id, file)
    print_json(out) if as_json else console().print(f"wrote {out['id']} to {out['path']}", markup=False)


@checkpoint.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@json_option
def import_(file: Path, as_json: bool) -> None:
    """Read a checkpoint FILE written by `export` (here or on another machine)."""
    from ..actions.checkpoints import import_ as action

    with _store() as store:
        out = action(store, file)
    if as_json:
        print_json(out)
    else:
        console().print(f"{out['id']}: {'imported' if out['imported'] else 'already here'}", markup=False)
