"""`memory statusline`: one short line for Claude Code's `statusLine` setting. It runs after
every message, so it stays light: no Rich, no search, one indexed query."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
import orjson

from .output import get_config, json_option, open_readonly, print_json


def _money(v: float) -> str:
    return f"${v:,.2f}"


def _tokens(n: int) -> str:
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _claude_input() -> dict[str, Any]:
    """What Claude Code passes on stdin (session_id, model, cost, ...); {} when none or
    unreadable: the line still shows the store's figures."""
    if sys.stdin is None or sys.stdin.isatty():
        return {}
    try:
        data = orjson.loads(sys.stdin.buffer.read() or b"{}")
    except (orjson.JSONDecodeError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def line(data: dict[str, Any], model: str | None) -> str:
    """The status line from the action's JSON."""
    parts = [model] if model else []
    if data["session_cost_usd"] is not None:
        parts.append(f"session {_money(data['session_cost_usd'])}")
    parts.append(f"today {_money(data['today']['cost_usd'])} · {_tokens(data['today']['tokens'])} tok")
    b = data["block"]
    if b:
        h, m = divmod(b["minutes_left"], 60)
        parts.append(f"block {_money(b['cost_usd'])} ({h}h{m:02d}m left)")
    else:
        parts.append("no active block")
    return " · ".join(parts)


@click.command()
@click.option("--timezone", "tz", metavar="ZONE",
              help="Where today begins: an IANA name (Europe/Paris, UTC); default: the local zone.")
@json_option
def statusline(tz: str | None, as_json: bool) -> None:
    """One line for Claude Code's status line: today's cost and tokens and the current
    5-hour billing block (its cost and the time left), at list prices, from what the store
    has captured. Reads Claude Code's status-line JSON on standard input when given.

    \b
    In ~/.claude/settings.json:
      "statusLine": {"type": "command", "command": "memory statusline"}
    """
    from ..actions.reports import statusline as act
    from ..errors import MemoryError_

    given = _claude_input()
    cost = (given.get("cost") or {}).get("total_cost_usd") if isinstance(given.get("cost"), dict) else None
    model = (given.get("model") or {}).get("display_name") if isinstance(given.get("model"), dict) else None
    try:
        with open_readonly() as store:
            data = act(store, get_config(), int(time.time() * 1000), tz,
                       cost if isinstance(cost, int | float) else None).to_json()
    except MemoryError_ as e:
        if as_json:
            raise
        # Claude Code blanks the line on a failure: say what is wrong in the line itself
        click.echo(f"memory: {e}")
        return
    if as_json:
        print_json(data)
        return
    click.echo(line(data, model if isinstance(model, str) else None))
