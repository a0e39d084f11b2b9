"""`memory mcp` (the stdio server) and `memory mcp install|uninstall`."""

from __future__ import annotations

from pathlib import Path

import click

from .hooks import install_options
from .output import console, get_config, print_json


@click.group(invoke_without_command=True)
@click.option("--read-only", is_flag=True, help="Open the store read-only; no `remember` tool.")
@click.pass_context
def mcp(ctx: click.Context, read_only: bool) -> None:
    """Serve the archive to MCP clients on stdin/stdout: tools search, get_session, timeline,
    context, recall, related and remember. Register it with `memory mcp install`."""
    if ctx.invoked_subcommand is not None:
        return
    from ..mcp_server.server import serve

    serve(get_config(), read_only)


_FILES = "user: ~/.claude.json (under $CLAUDE_CONFIG_DIR when set); project: .mcp.json."


def _say(out: dict, as_json: bool) -> None:
    if as_json:
        print_json(out)
    else:
        console().print(f"{'(dry run) ' if out['dry_run'] else ''}{out['action']}: "
                        f"coditect-memory in {out['path']}", markup=False)


@mcp.command()
@install_options(_FILES)
def install(scope: str, project_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Register `memory mcp` with Claude Code (as `claude mcp add` would)."""
    from ..mcp_server.install import install as action

    _say(action(scope, get_config().home, project_dir, dry_run), as_json)


@mcp.command()
@install_options(_FILES)
def uninstall(scope: str, project_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Remove the registration; every other server and setting is kept."""
    from ..mcp_server.install import uninstall as action

    _say(action(scope, project_dir, dry_run), as_json)
