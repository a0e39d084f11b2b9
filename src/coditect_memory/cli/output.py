"""Output shared by every command: JSON for scripts, Rich for people (imported lazily)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
import orjson

from ..settings import Settings, load_settings
from ..units import human_bytes  # noqa: F401 - re-exported for the commands

if TYPE_CHECKING:
    from rich.console import Console

    from ..store.base import Store


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    sys.stdout.write("\n")


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200  # piped: don't wrap at 80 columns
    return Console(stderr=stderr, no_color=bool(os.environ.get("NO_COLOR")) or None,
                   highlight=False, width=width)


def interactive() -> bool:
    """A progress bar only for a person watching: stderr is a terminal."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def working(message: str) -> contextlib.AbstractContextManager[Any]:
    """A spinner on stderr while something may take a while (a person watching only)."""
    if not interactive():
        return contextlib.nullcontext()
    return console(stderr=True).status(message)


def get_config() -> Settings:
    return load_settings()


def open_readonly() -> Store:
    """The store, really read-only: nothing created or written (a read-only MEMORY_HOME,
    another user's store, a mounted backup can all be read)."""
    from ..store import open_store

    return open_store(get_config(), readonly=True)


def short_time(iso_ts: str | None) -> str:
    return iso_ts[:16].replace("T", " ") if iso_ts else "—"
