"""`memory export` and `memory import`: a plain JSONL archive anyone can read."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .output import console, get_config, json_option, open_readonly, print_json


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--project", help="Only this project (its path or name).")
@click.option("--since", help="Only messages at or after this time (2025-11-15 or ISO).")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Write here (default: standard output).")
@json_option
def export(fmt: str, project: str | None, since: str | None, output: Path | None,
           as_json: bool) -> None:
    """Write messages as plain JSON Lines: one message a line, with uid, source_kind and
    provenance (file, line, offset, run). `memory import` reads it back to an equal store.

    With --output, --json prints a summary ({"path", "messages"}) on standard output."""
    from ..actions.transfer import ExportRequest
    from ..actions.transfer import export as run_export
    from ..errors import UsageError
    from ..store import open_store
    from ..timeutil import parse_user_time

    since_ms = parse_user_time(since) if since else None  # raises UsageError
    if output is None and as_json:
        raise UsageError("--json needs --output FILE (the export itself goes to stdout)")
    config = get_config()
    # writable when it can be: the export is recorded in the audit log (privacy/), on a
    # PostgreSQL store too (its server decides)
    writable = bool(config.database_url) or (config.db_path.exists() and os.access(
        config.db_path, os.W_OK) and os.access(config.home, os.W_OK))
    with open_store(config, create=False) if writable else open_readonly() as store:
        result = run_export(store, ExportRequest(project, since_ms, output, config),
                            sys.stdout.buffer)
    if output is None:
        sys.stdout.buffer.flush()
    elif as_json:
        print_json(result.to_json())
    else:
        console(stderr=True).print(f"{result.messages:,} messages written to {output}")


@click.command(name="import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--no-space-check", is_flag=True, help="Run even when the disk looks too small "
              "for the file (the store needs ~1.3x its size while writing).")
@json_option
def import_(path: Path, no_space_check: bool, as_json: bool) -> None:
    """Read a `memory export` JSONL file into the store (messages already there are skipped).

    Damaged lines are not stored; a file with any, or cut short, exits 17 after storing the
    sound lines (each bad line is in `memory errors`, and in --json's `bad_lines`)."""
    from ..actions.transfer import import_file
    from ..errors import ImportIncomplete
    from ..store import open_store

    config = get_config()
    with open_store(config) as store:
        result = import_file(store, config, path, not no_space_check)
    stats = result.stats
    if as_json:
        print_json(result.to_json())
    else:
        console().print(f"Run {stats.run_id}: {stats.messages_read:,} messages read, "
                        f"[green]{stats.messages_new:,} new[/], {stats.duplicates:,} already "
                        f"stored, {stats.errors:,} bad lines (`memory errors`)")
    if not result.complete:
        first = result.bad_lines[0] if result.bad_lines else {}
        where = f"line {first['line']}: " if first.get("line") else ""
        console(stderr=True).print(
            f"import incomplete: {stats.errors - stats.warnings:,} lines not stored "
            f"({where}{first.get('reason', 'see `memory errors`')})", markup=False)
        sys.exit(ImportIncomplete.exit_code)
