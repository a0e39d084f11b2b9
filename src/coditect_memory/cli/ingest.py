"""`memory ingest`: capture a Claude folder (or an extraction export) into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..ingest.pipeline import Progress
from .output import console, get_config, human_bytes, interactive, json_option, print_json


class _Bar(Progress):
    """A Rich progress bar with rate and ETA, on stderr."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.p = Progress(TextColumn("{task.fields[phase]}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                          TextColumn("{task.fields[msgs]:,} msgs"), TimeRemainingColumn(),
                          console=console(stderr=True), transient=True)
        self.task: Any = None
        self.msgs = 0

    def start(self, total_bytes: int, files: int) -> None:
        self.p.start()
        self.task = self.p.add_task("ingest", total=max(total_bytes, 1), msgs=0, phase="ingest")

    def advance(self, nbytes: int, messages: int) -> None:
        self.msgs += messages
        self.p.update(self.task, advance=nbytes, msgs=self.msgs)

    def phase(self, text: str) -> None:
        if self.task is not None:  # after the bytes: say what the wait is for
            self.p.update(self.task, phase=text)
            self.p.refresh()

    def finish(self) -> None:
        """Reading is done; the bar stays (with its phase) until `close`."""

    def close(self) -> None:
        self.p.stop()  # before any message: "interrupted" is never glued to the bar


@click.command()
@click.argument("path", required=False, type=click.Path(path_type=Path, readable=False))
@click.option("--format", "fmt", type=click.Choice(["claude", "extraction"]), default="claude",
              show_default=True, help="claude: a ~/.claude folder. extraction: JSONL exports "
              "(one object a line with content/timestamp/project/session).")
@click.option("--no-space-check", is_flag=True, help="Run even when the disk looks too small "
              "for what is to be read (the store needs ~2.5x the bytes read while writing).")
@json_option
def ingest(path: Path | None, fmt: str, no_space_check: bool, as_json: bool) -> None:
    """Capture PATH (default: $CLAUDE_CONFIG_DIR or ~/.claude) into the store.

    Incremental: files already read are skipped, grown files are read from where the last
    run stopped. Bad records are recorded with file, line and reason (`memory errors`);
    everything else is stored. Exit 0 when the run completed, even with bad records.
    """
    from ..actions.ingest import check_root
    from ..actions.ingest import ingest as run_ingest
    from ..store import open_store

    config = get_config()
    root = path or config.claude_root
    check_root(root, fmt)  # a mistyped path creates no store
    progress = _Bar() if interactive() and not as_json else None
    try:
        with open_store(config) as store:
            result = run_ingest(store, config, root, fmt, progress,
                                space_check=not no_space_check)
    finally:
        if progress:
            progress.close()
    for note in result.search.get("notes", []):  # on stderr: --json stays one document
        click.echo(f"memory: {note}", err=True)
    if as_json:
        print_json(result.to_json())
        return
    stats = result.stats
    c = console()
    c.print(f"[bold]Run {stats.run_id}[/] of {stats.root}: {stats.files_seen:,} files seen, "
            f"{stats.files_changed:,} read ({human_bytes(stats.bytes_read)}) in {stats.seconds:.1f} s")
    c.print(f"  {stats.messages_read:,} messages read, [green]{stats.messages_new:,} new[/], "
            f"{stats.duplicates:,} already stored, {stats.sessions_updated:,} sessions updated")
    if stats.errors:
        c.print(f"  [yellow]{stats.errors:,} bad records[/] (kept apart, the rest stored): "
                f"see `memory errors --run {stats.run_id}`")
    if stats.files_unknown:
        c.print(f"  {stats.files_unknown:,} files of unknown format listed by `memory status`")
