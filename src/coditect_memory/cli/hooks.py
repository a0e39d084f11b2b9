"""`memory hook EVENT` (what Claude Code runs) and `memory hooks install|uninstall`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .output import console, get_config, print_json

_EVENTS = ("session-start", "stop", "subagent-stop", "pre-compact", "session-end")


@click.command()
@click.argument("event", metavar=f"[{'|'.join(_EVENTS)}]")
def hook(event: str) -> None:
    """Run by Claude Code's hooks with the event JSON on stdin. session-start prints the
    context pack for the event's cwd; the others capture the session's transcript in the
    background. Always exits 0: a failure is a line in $MEMORY_HOME/hooks.log."""
    import orjson

    from ..hooks.runner import log, session_start, start_capture

    try:
        settings = get_config()
    except Exception as e:  # noqa: BLE001 - fail open
        click.echo(f"memory hook: {e}", err=True)
        return
    try:
        raw = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
        data = orjson.loads(raw) if raw.strip() else {}
        if not isinstance(data, dict):
            raise ValueError("the event is not a JSON object")
        if event == "session-start":
            out = session_start(settings, data)
            if out:
                click.echo(out)
        elif event in _EVENTS:
            start_capture(settings, event, data)
        else:  # a hook set up by hand with another event: nothing to do, and never a block
            log(settings, event, f"unknown event; known: {', '.join(_EVENTS)}")
    except BaseException as e:  # noqa: BLE001 - a hook never blocks Claude Code
        log(settings, event, f"failed: {type(e).__name__}: {e}")


@click.group()
def hooks() -> None:
    """Install or remove coditect-memory's hooks in Claude Code's settings.json."""


def install_options(files: str):
    """--scope, --project-dir, --dry-run, --json: shared by `hooks` and `mcp` install/uninstall."""
    def wrap(f):
        for opt in reversed([
            click.option("--scope", type=click.Choice(["user", "project"]), default="user",
                         show_default=True, help=files),
            click.option("--project-dir", type=click.Path(path_type=Path, file_okay=False),
                         help="The project (default: the current folder)."),
            click.option("--dry-run", is_flag=True, help="Say what would change; change nothing."),
            click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")]):
            f = opt(f)
        return f
    return wrap


_FILES = ("user: settings.json in $CLAUDE_CONFIG_DIR or ~/.claude; project: "
          ".claude/settings.json of --project-dir.")


def _report(change, as_json: bool) -> None:
    if as_json:
        print_json(change.to_json())
        return
    if change.dry_run and change.content is not None:
        click.echo(change.content, nl=False)
    what = {"installed": "installed hooks for", "already-installed": "already installed:",
            "uninstalled": "removed our hooks for", "restored": "restored the original (hooks removed:",
            "not-installed": "no coditect-memory hooks in"}[change.action]
    events = ", ".join(change.events)
    tail = ")" if change.action == "restored" else ""
    console(stderr=change.dry_run).print(
        f"{'(dry run) ' if change.dry_run else ''}{what} {events} {change.path}{tail}".replace("  ", " "),
        markup=False)


@hooks.command()
@install_options(_FILES)
def install(scope: str, project_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Add SessionStart (context pack), Stop, SubagentStop, PreCompact and SessionEnd
    (capture) hooks; keeps every other setting and hook; safe to run twice."""
    from ..hooks.install import install as action
    from ..hooks.install import settings_path

    path = settings_path(scope, get_config().claude_root, project_dir)
    _report(action(path, scope, dry_run), as_json)


@hooks.command()
@install_options(_FILES)
def uninstall(scope: str, project_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Remove our hooks: the file comes back exactly as it was before install when nothing
    else changed it since; otherwise only our entries are removed."""
    from ..hooks.install import settings_path
    from ..hooks.install import uninstall as action

    path = settings_path(scope, get_config().claude_root, project_dir)
    _report(action(path, scope, dry_run), as_json)
