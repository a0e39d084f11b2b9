"""Output shared by every command: JSON for scripts, Rich for people (imported lazily)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, TextIO

import click
import orjson

from ..settings import Settings, load_settings
from ..units import human_bytes  # noqa: F401 - re-exported for the commands

if TYPE_CHECKING:
    from rich.console import Console

    from ..store.base import Store


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def timezone_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--timezone ZONE, the one option of every date-based command: where days begin (--since,
    --until, today) and the zone times are shown in; `timeutil.zone` reads it."""
    return click.option("--timezone", "tz", metavar="ZONE",
                        help="Days and times in this zone: an IANA name (Europe/Paris, UTC); "
                             "default: the local zone.")(f)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    sys.stdout.write("\n")


class _Unpadded:
    """A stream that drops the spaces Rich pads table lines with: piped output stays plain
    (`memory sessions | grep`, diffs, fixed files) and no line is wider than its text."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.pending = stream, ""

    def write(self, text: str) -> int:
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        if lines:
            self.stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self.pending.strip(" "):  # text without its newline yet (print(end="")): show it
            self.stream.write(self.pending)
        self.pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def console(stderr: bool = False) -> Console:
    """A terminal gets Rich at its width; piped output is as wide as $COLUMNS (200 when
    unset, so nothing wraps at 80) and carries no trailing padding."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr, no_color=bool(os.environ.get("NO_COLOR")) or None,
                       highlight=False)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) >= 20 else 200
    return Console(file=_Unpadded(stream), no_color=bool(os.environ.get("NO_COLOR")) or None,  # type: ignore[arg-type]
                   highlight=False, width=width)


def interactive() -> bool:
    """A progress bar only for a person watching: stderr is a terminal."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def working(message: str) -> contextlib.AbstractContextManager[Any]:
    """A spinner on stderr while something may take a while (a person watching only)."""
    if not interactive():
        return contextlib.nullcontext()
    return console(stderr=True).status(message)


def show_schedule(out: dict[str, Any], as_json: bool) -> None:
    """A `Schedule` (backup or ingest): the cron line, the units, or where they were written
    and how to enable the timer."""
    if as_json:
        print_json(out)
    elif "cron" in out:
        click.echo(out["cron"])
    elif out.get("installed"):
        for path in out["installed"]:
            click.echo(f"wrote {path}")
        timer = next(name for name in out["units"] if name.endswith(".timer"))
        click.echo("enable it with: systemctl --user daemon-reload && "
                   f"systemctl --user enable --now {timer}")
    else:
        for name, text in out["units"].items():
            click.echo(f"# {name}\n{text}")


def get_config() -> Settings:
    return load_settings()


def open_readonly() -> Store:
    """The store, really read-only: nothing created or written (a read-only MEMORY_HOME,
    another user's store, a mounted backup can all be read)."""
    from ..store import open_store

    return open_store(get_config(), readonly=True)


def short_time(iso_ts: str | None, tz: tzinfo | None = None) -> str:
    """A stored ISO time as YYYY-MM-DD HH:MM in `tz` (None: UTC, as stored)."""
    from ..timeutil import clock

    return clock(iso_ts, tz) or "—"
