"""`memory status`, `memory runs`, `memory errors`, `memory doctor`."""

from __future__ import annotations

import sys

import click

from .output import (
    console,
    get_config,
    human_bytes,
    json_option,
    open_readonly,
    print_json,
    short_time,
    timezone_option,
)


@click.command()
@timezone_option
@json_option
def status(tz: str | None, as_json: bool) -> None:
    """What the store holds: messages, sessions, projects, sources and their files; and a
    warning when capture falls behind Claude Code (which deletes old transcripts). Times in
    --timezone (default: the local zone; --json keeps ISO UTC)."""
    from ..actions.browse import status as status_of
    from ..timeutil import zone

    where = zone(tz)

    with open_readonly() as store:
        s = status_of(store, get_config()).to_json()
    if as_json:
        print_json(s)
        return
    from rich.table import Table

    c = console()
    c.print(f"[bold]{s['messages']:,}[/] messages in [bold]{s['sessions']:,}[/] sessions across "
            f"[bold]{s['projects']:,}[/] projects, {short_time(s['first_message'], where)} → "
            f"{short_time(s['last_message'], where)}")
    t = s["tokens"]
    c.print(f"Tokens: {t['input']:,} in, {t['output']:,} out, {t['cache_read']:,} cache read, "
            f"{t['cache_write']:,} cache write ({s['api_responses']:,} API responses)")
    table = Table("source", "messages", box=None, pad_edge=False)
    for kind, n in s["by_source"].items():
        table.add_row(kind, f"{n:,}")
    c.print(table)
    files = Table("files by kind", "files", "size", box=None, pad_edge=False)
    for kind, f in s["files"].items():
        files.add_row(kind, f"{f['files']:,}", human_bytes(f["bytes"]))
    c.print(files)
    if s["unknown_files"]:
        c.print(f"[yellow]{len(s['unknown_files'])} files of unknown format[/] (listed, not read):")
        for path in s["unknown_files"][:15]:
            c.print(f"  {path}")
        if len(s["unknown_files"]) > 15:
            c.print("  … (`memory status --json` lists them all)")
    notes = []
    if s["partial_files"]:
        notes.append(f"{s['partial_files']} files end in a line still being written (read when complete)")
    if s["missing_files"]:
        notes.append(f"{s['missing_files']} files have disappeared from disk (their messages are kept)")
    if s["files_with_errors"]:
        notes.append(f"{s['files_with_errors']} files had bad records at their last read (`memory errors`)")
    for note in notes:
        c.print(note)
    if s["last_run"]:
        r = s["last_run"]
        c.print(f"Last run: #{r['run_id']} {r['status']} at {short_time(r['started_at'], where)}")
    for w in s["warnings"]:
        c.print(f"[yellow]warning:[/] {w['message']}")
    c.print(semantic_line(s["search"]))


def semantic_line(search: dict) -> str:
    """The embedding model in use, as `status` and `doctor` print it."""
    if not search["vectors"]:
        return f"Semantic search: no embeddings yet (`memory embed` embeds with {search['model']})"
    others = [m for m in search["models"] if m != search["model"]]
    return (f"Semantic search: {search['model']}, {search['vectors']:,} vectors"
            + (f", {search['pending']:,} messages to embed" if search["pending"] else "")
            + (f" (also in the store: {', '.join(others)})" if others else ""))


@click.command()
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@timezone_option
@json_option
def runs(limit: int, tz: str | None, as_json: bool) -> None:
    """The audit trail: every ingest run, what it read, what was new, what failed (times in
    --timezone, default: the local zone)."""
    from ..actions.browse import runs as runs_of
    from ..timeutil import zone

    with open_readonly() as store:
        rows = runs_of(store, limit).runs
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    t = Table("run", "started", "status", "files seen", "read", "messages", "new", "dup", "errors",
              box=None, pad_edge=False)
    for r in rows:
        t.add_row(str(r["run_id"]), short_time(r["started_at"], zone(tz)), r["status"], f"{r['files_seen']:,}",
                  f"{r['files_changed']:,}", f"{r['messages_read']:,}", f"{r['messages_new']:,}",
                  f"{r['duplicates']:,}", f"{r['errors']:,}")
    console().print(t)


@click.command()
@click.option("--run", "run_id", type=int, help="Run number (default: the latest).")
@click.option("--limit", default=50, show_default=True)
@json_option
def errors(run_id: int | None, limit: int, as_json: bool) -> None:
    """The bad records of a run: file, line and reason, and whether the record was kept."""
    from ..actions.browse import run_errors

    with open_readonly() as store:
        result = run_errors(store, run_id, limit)
    rows = result.errors
    if as_json:
        print_json(rows)
        return
    c = console()
    if not rows:
        c.print(f"Run {result.run_id}: no bad records.")
        return
    for e in rows:
        where = f"{e['path']}:{e['line']}" if e["line"] else e["path"] or "(root)"
        mark = "[red]error[/]" if e["severity"] == "error" else "[yellow]warning[/]"
        c.print(f"{mark} {where}: {e['reason']}", markup=True)


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check the store's integrity and the health of the sources it was built from."""
    from ..actions.browse import doctor as check

    with open_readonly() as store:
        result = check(store, get_config())
    ok, problems, sources = result.ok, result.problems, result.sources
    if as_json:
        print_json(result.to_json())
    else:
        c = console()
        c.print("[green]store: ok[/]" if ok else "[red]store: problems[/]")
        for p in problems:
            c.print(f"  {p}")
        c.print(f"sources: {len(sources)} to look at" if sources else "sources: ok")
        for s in sources[:30]:
            c.print(f"  {s}", markup=False)
        if result.search is not None:
            c.print(semantic_line(result.search), markup=False)
    if not ok:
        sys.exit(1)
