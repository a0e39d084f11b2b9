"""`memory sample DIR`: a realistic, generated Claude folder to try the product on."""

from __future__ import annotations

from pathlib import Path

import click

from .output import json_option, print_json


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--sessions", default=60, show_default=True, help="How many sessions to write.")
@click.option("--messages", type=int, default=None,
              help="Aim for about this many transcript messages in all (overrides --sessions).")
@click.option("--seed", default=7, show_default=True, help="Same seed, same data.")
@json_option
def sample(directory: Path, sessions: int, messages: int | None, seed: int, as_json: bool) -> None:
    """Write a generated ~/.claude-like folder at DIRECTORY (all source kinds, ~16 projects)."""
    from ..sample.generator import generate

    truth = generate(directory, sessions=sessions, messages=messages, seed=seed)
    if as_json:
        print_json(truth)
    else:
        click.echo(f"wrote {truth.get('sessions', '?')} sessions, "
                   f"{truth.get('transcript_messages', '?')} transcript messages to {directory}")
