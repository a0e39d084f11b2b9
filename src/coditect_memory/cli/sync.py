"""`memory sync init|push|pull|status|run|schedule`: this machine and the team's server."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import click

from ..ingest.pipeline import Progress
from .output import console, get_config, interactive, json_option, print_json, show_schedule
from .sync_conflicts import conflicts


class _Bar(Progress):
    """Messages sent or received, on stderr, for a person watching."""

    def __init__(self, what: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.p = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=console(stderr=True), transient=True)
        self.task: Any = None

    def start(self, total_bytes: int, files: int) -> None:
        self.p.start()
        self.task = self.p.add_task("sync", total=total_bytes or None)

    def advance(self, nbytes: int, messages: int) -> None:
        self.p.update(self.task, advance=messages)

    def finish(self) -> None:
        self.p.stop()


def _progress(what: str, as_json: bool) -> Progress | None:
    return _Bar(what) if interactive() and not as_json else None


def _open() -> Any:
    from ..store import open_store

    return open_store(get_config(), create=False)


@click.group()
def sync() -> None:
    """Share this store with a team's server (`memory serve`): push what this machine
    captured, pull what the others did. Offline, everything local works as before and
    what is not pushed waits (`memory sync status`). docs/sync.md has the whole story."""


@sync.command()
@click.option("--server", required=True, help="The server's URL, e.g. http://memory.example:8700")
@click.option("--token", required=True, help="A token from `memory auth token` on the server "
              "(write scope to push); kept in MEMORY_HOME/sync-token, mode 0600.")
@click.option("--submodule", help="The submodule this machine pushes as (a token scoped to "
              "submodules may only push as one of them).")
@json_option
def init(server: str, token: str, submodule: str | None, as_json: bool) -> None:
    """Link this store to a server; the server and the token are checked at once."""
    from ..actions import sync as act
    from ..store import open_store

    config = get_config()
    with open_store(config) as store:
        linked = act.init(store, config, act.InitRequest(server, token, submodule))
    if as_json:
        print_json(linked.to_json())
        return
    c = console()
    c.print(f"linked to {linked.server} as machine {linked.machine_id} ({linked.hostname}"
            f"{', submodule ' + linked.submodule if linked.submodule else ''}); the server holds "
            f"{linked.server_messages:,} messages. Next: `memory sync run`", markup=False)
    for note in linked.notes:
        console(stderr=True).print(f"note: {note}", markup=False)


@sync.command()
@json_option
def push(as_json: bool) -> None:
    """Send what the server has not acknowledged (messages, then forgets)."""
    from ..actions import sync as act

    config = get_config()
    with _open() as store:
        out = act.push(store, config, progress=_progress("push", as_json))
    if as_json:
        print_json(out.to_json())
        return
    console().print(f"pushed {out.messages:,} messages ({out.new:,} new on the server, "
                    f"{out.duplicates:,} it had), {out.tombstones:,} forgets; "
                    f"{out.held_back:,} private or ephemeral kept here"
                    + (f"; {out.released:,} held back before, sent now that their level allows"
                       if out.released else ""), markup=False)


@sync.command()
@json_option
def pull(as_json: bool) -> None:
    """Bring what other machines pushed (that your token may see) into this store."""
    from ..actions import sync as act

    config = get_config()
    with _open() as store:
        out = act.pull(store, config, progress=_progress("pull", as_json))
    if as_json:
        print_json(out.to_json())
        return
    console().print(f"pulled {out.messages:,} messages ({out.new:,} new here), "
                    f"{out.tombstones:,} forgets ({out.forgotten:,} rows removed)", markup=False)


@sync.command()
@json_option
def status(as_json: bool) -> None:
    """The server, the last push and pull, what waits to be pushed and since when."""
    from ..actions import sync as act
    from .output import open_readonly

    with open_readonly() as store:
        st = act.status(store, get_config()).to_json()
    if as_json:
        print_json(st)
        return
    c = console()
    if not st["configured"]:
        c.print("not linked to a sync server: `memory sync init --server URL --token TOKEN`")
        return
    c.print(f"server   {st['server']} (machine {st['machine_id']}, {st['hostname']}"
            f"{', submodule ' + st['submodule'] if st['submodule'] else ''})", markup=False)
    for name in ("last_push", "last_pull"):
        last = st[name]
        c.print(f"{name.replace('_', ' '):9}{last['at'] or 'never'}  {last['result'] or ''}", markup=False)
    since = f" (since {st['pending_since']})" if st["pending_since"] else ""
    c.print(f"pending  {st['pending']:,} messages, {st['tombstones_pending']:,} forgets{since}",
            markup=False)
    if st["warning"]:
        console(stderr=True).print(f"warning: {st['warning']}", markup=False)


@sync.command()
@click.option("--every", default=None, help="Keep going: push and pull every 15m, 1h, ... "
              "(an unreachable server is said and tried again next time).")
@json_option
def run(every: str | None, as_json: bool) -> None:
    """Push then pull, once (exit code of the first failure) or --every N minutes."""
    from ..actions import sync as act
    from ..actions.capture import parse_every

    config = get_config()
    period = parse_every(every) * 60 if every else None
    stop = threading.Event()
    if period:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    code = 0
    while True:
        with _open() as store:
            ran = act.run_once(store, config)
        _show_run(ran, as_json)
        code = ran.exit_code
        if not period or stop.wait(period):
            break
    if code and not period:
        sys.exit(code)


def _show_run(ran: Any, as_json: bool) -> None:
    if as_json:
        import orjson

        click.echo(orjson.dumps(ran.to_json()).decode())
        return
    stamp = time.strftime("%H:%M:%S")
    if ran.error:
        console(stderr=True).print(f"{stamp} not synced: {ran.error}", markup=False)
        return
    p, q = ran.pushed, ran.pulled
    console().print(f"{stamp} pushed {p.messages:,} ({p.new:,} new), pulled {q.messages:,} "
                    f"({q.new:,} new), forgets {p.tombstones:,} out / {q.tombstones:,} in",
                    markup=False)


@sync.command()
@click.option("--every", default="15m", show_default=True, help="How often: 5m, 15m, 1h, ...")
@click.option("--systemd", is_flag=True, help="A systemd user timer instead of a cron line.")
@click.option("--install", is_flag=True, help="Write the systemd units (with --systemd).")
@json_option
def schedule(every: str, systemd: bool, install: bool, as_json: bool) -> None:
    """Print (or install) a job that runs `memory sync run` every N minutes.

    \b
      (crontab -l; memory sync schedule) | crontab -
    or: memory sync schedule --systemd --install
    """
    from ..actions import sync as act

    show_schedule(act.schedule(get_config(), every, systemd, install).to_json(), as_json)


sync.add_command(conflicts)  # the sync-mutable branch's `memory sync conflicts`
