"""`memory watch` and `memory ingest schedule`: capture without anyone running it."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import click

from .output import console, get_config, json_option, show_schedule


@click.command()
@click.argument("path", required=False, type=click.Path(path_type=Path, readable=False))
@click.option("--debounce", default=2.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds of quiet that end a burst of changes.")
@click.option("--min-gap", default=10.0, show_default=True, type=click.FloatRange(0, 3600),
              help="At most one ingest every this many seconds while Claude Code writes.")
@json_option
def watch(path: Path | None, debounce: float, min_gap: float, as_json: bool) -> None:
    """Follow PATH (default: ~/.claude) and ingest what changes, within seconds.

    Runs until Ctrl-C (or SIGTERM). One line per ingest; with --json, one JSON object per
    line. Uses file-system events: idle, it costs nothing. To start it at login, or to
    capture on a timer instead, see `memory ingest schedule --help`.
    """
    from ..actions.capture import WatchEvent, check_root
    from ..actions.capture import watch as run_watch

    config = get_config()
    root = path or config.claude_root
    check_root(root, "claude")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    c = console(stderr=True)
    if not as_json:
        c.print(f"watching {root} (Ctrl-C to stop)")

    def show(event: WatchEvent) -> None:
        if as_json:
            import orjson

            click.echo(orjson.dumps(event.to_json()).decode())
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        if event.error:
            c.print(f"{stamp} [yellow]not ingested[/]: {event.error}")
        elif event.result is not None:
            s = event.result.stats
            c.print(f"{stamp} {s.messages_new:,} new messages from {s.files_changed:,} "
                    f"changed files (run {s.run_id}, {s.seconds:.1f} s)")

    run_watch(config, root, show, stop, debounce_ms=int(debounce * 1000), min_gap=min_gap)
    if not as_json:
        c.print("stopped")


@click.command("schedule")
@click.option("--every", default="10m", show_default=True, help="How often: 5m, 10m, 1h, ...")
@click.option("--path", "root", type=click.Path(path_type=Path), default=None,
              help="The Claude folder to capture (default: $CLAUDE_CONFIG_DIR or ~/.claude).")
@click.option("--systemd", is_flag=True, help="A systemd user timer instead of a cron line.")
@click.option("--install", is_flag=True, help="Write the systemd units (with --systemd).")
@json_option
def ingest_schedule(every: str, root: Path | None, systemd: bool, install: bool,
                    as_json: bool) -> None:
    """Print (or install) a job that runs `memory ingest` every N minutes.

    \b
    Turn capture on in one command:
      (crontab -l; memory ingest schedule) | crontab -
    or, with systemd:
      memory ingest schedule --systemd --install
      systemctl --user daemon-reload && systemctl --user enable --now memory-ingest.timer
    `memory watch` is the alternative that reacts within seconds.
    """
    from ..actions import capture

    show_schedule(capture.schedule(
        get_config(), capture.IngestScheduleRequest(every, root, systemd, install)).to_json(),
        as_json)
