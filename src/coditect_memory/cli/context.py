"""`memory context` and `memory context diff`: parse, open the store, call actions/context.py,
render."""

from __future__ import annotations

import os

import click

from .output import console, get_config, print_json


def _options(f):
    for opt in reversed([
        click.option("--project", "-p", help="Project path or name (default: the one at --cwd)."),
        click.option("--cwd", help="A folder: its project (default: the current folder)."),
        click.option("--query", "-q", help="What the session is about: adds relevant past excerpts."),
        click.option("--budget", "-b", type=int, help="Tokens at most (cl100k; default [memories] budget)."),
    ]):
        f = opt(f)
    return f


@click.group(invoke_without_command=True)
@_options
@click.option("--checkpoint", help="Print a checkpoint's pack instead (`memory checkpoint list`).")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def context(ctx: click.Context, project: str | None, cwd: str | None, query: str | None,
            budget: int | None, checkpoint: str | None, fmt: str, as_json: bool) -> None:
    """Print what a new session should know about a project, within a token budget:
    pinned memories, preferences, facts, decisions, open todos, errors and their fixes,
    recent sessions and, with --query, relevant past excerpts. Each item names its memory,
    session and date.

    \b
    Examples:
      memory context                       the project of the current folder
      memory context -p billing-api --budget 4000 --query "alembic migrations"
      memory context diff                  what changed since the last pack
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..actions.context import ContextRequest
    from ..actions.context import context as action
    from ..store import open_store

    settings = get_config()
    readonly = not os.access(settings.home, os.W_OK)  # a mounted backup: packs not recorded
    with open_store(settings, readonly=readonly, create=False) as store:
        if checkpoint:
            from ..actions.checkpoints import get

            body = get(store, checkpoint)
            out = body["pack"]
        else:
            req = ContextRequest(project=project, cwd=None if project else (cwd or os.getcwd()),
                                 query=query, budget=budget)
            out = action(store, settings, req).to_json()
    if as_json or fmt == "json":
        print_json(out)
    else:
        click.echo(out["markdown"], nl=False)


@context.command()
@_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def diff(project: str | None, cwd: str | None, query: str | None, budget: int | None,
         as_json: bool) -> None:
    """Build a pack now and say what it adds and drops against the last one."""
    from ..actions.context import ContextRequest
    from ..actions.context import diff as action
    from ..store import open_store

    settings = get_config()
    with open_store(settings, create=False) as store:
        res = action(store, settings, ContextRequest(
            project=project, cwd=None if project else (cwd or os.getcwd()), query=query, budget=budget))
    if as_json:
        print_json(res.to_json())
        return
    c = console()
    c.print(f"pack {res.after} against {res.before or '(none before)'}: "
            f"{len(res.added)} added, {len(res.removed)} removed")
    for sign, items in (("+", res.added), ("-", res.removed)):
        for i in items:
            c.print(f"  {sign} [{i['section']}] {i['text']}", markup=False)
