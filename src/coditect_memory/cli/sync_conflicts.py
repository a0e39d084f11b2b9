"""`memory sync conflicts [--json] [--reapply ID] [--dismiss ID]`."""

from __future__ import annotations

from typing import Any

import click

from .output import console, get_config, json_option, print_json, short_time


def _value(kind: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if kind == "note":
        tags = f" [{', '.join(value['tags'])}]" if value.get("tags") else ""
        return f"{value.get('title') or '(no title)'}{tags}"
    if kind == "level":
        return str(value["level"])
    flags = "".join(f" ({f})" for f in ("pinned", "deleted") if value.get(f))
    return f"{value['type']}: {value['text']}{flags}"


@click.command()
@click.option("--reapply", type=int, metavar="ID",
              help="Make conflict ID's local version yours again; the next push makes it central.")
@click.option("--dismiss", type=int, metavar="ID", help="Drop conflict ID (the central version stays).")
@json_option
def conflicts(reapply: int | None, dismiss: int | None, as_json: bool) -> None:
    """Local changes that lost to the central version (titles and tags, privacy levels,
    memories): the central one wins by default; each lost one is kept here."""
    from ..actions import sync_conflicts as act
    from ..errors import UsageError
    from ..store import open_store

    if reapply is not None and dismiss is not None:
        raise UsageError("give --reapply or --dismiss, not both")
    readonly = reapply is None and dismiss is None
    with open_store(get_config(), readonly=readonly, create=False) as store:
        if reapply is not None:
            result: Any = act.reapply(store, reapply)
        elif dismiss is not None:
            result = act.dismiss(store, dismiss)
        else:
            result = act.list_conflicts(store)
    data = result.to_json()
    if as_json:
        print_json(data)
        return
    c = console()
    if isinstance(data, dict):
        verb, conflict = next(iter(data.items()))
        tail = " (pushed on the next `memory sync push`)" if verb == "reapplied" else ""
        c.print(f"{verb} conflict {conflict['id']}: {conflict['what']}{tail}", markup=False)
        return
    if not data:
        c.print("no conflicts: no local change lost to the central version")
        return
    for d in data:
        c.print(f"[bold]{d['id']}[/] {d['what']} · {short_time(d['at'])}", highlight=False)
        c.print(f"  yours:   {_value(d['kind'], d['local'])}", markup=False, highlight=False)
        c.print(f"  central: {_value(d['kind'], d['central'])} (revision {d['central_revision']},"
                f" from {d['central_machine'] or '?'})", markup=False, highlight=False)
    c.print("`memory sync conflicts --reapply ID` keeps yours; `--dismiss ID` keeps the central one")
