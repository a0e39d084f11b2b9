"""`memory backup create|list|verify|restore|prune|schedule`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .output import (
    console,
    get_config,
    human_bytes,
    interactive,
    json_option,
    print_json,
    short_time,
    show_schedule,
    timezone_option,
)

_TARGET = click.option("--target", help="A folder or s3://bucket/prefix (default: [backup] target "
                       "in $MEMORY_HOME/config.toml, or $MEMORY_BACKUP_TARGET).")
_ENDPOINT = click.option("--endpoint-url", help="S3 endpoint of an S3-compatible store "
                         "(default: $MEMORY_S3_ENDPOINT).")


def _target(target: str | None, endpoint: str | None):
    from ..actions.backup import Target

    return Target(target, endpoint)


class _Bar:
    """A Rich progress bar on stderr, for a person watching."""

    def __init__(self, label: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self.p = Progress(TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                          console=console(stderr=True), transient=True)
        self.task: Any = None

    def start(self, total: int) -> None:
        self.p.start()
        self.task = self.p.add_task("", total=max(total, 1))

    def advance(self, n: int) -> None:
        self.p.update(self.task, advance=n)

    def finish(self) -> None:
        self.p.stop()


def _bar(label: str, as_json: bool) -> _Bar | None:
    return _Bar(label) if interactive() and not as_json else None


@click.group()
def backup() -> None:
    """Backups that restore: full and incremental, local or S3, verified, encrypted.

    \b
    memory backup create --target /mnt/backups        a backup (incremental when one exists)
    memory backup list --target s3://bucket/memory    what is there
    memory backup verify ID [--deep]                  re-hash every object (and test-restore)
    memory backup restore ID --into DIR               a working store in DIR (MEMORY_HOME=DIR)
    memory backup restore ID --into postgresql://...  the same, into a new database

    Set MEMORY_BACKUP_KEY_FILE (or MEMORY_BACKUP_KEY) to encrypt new repositories with
    AES-256-GCM; the same key is then needed to verify and restore.
    """


@backup.command()
@click.option("--type", "kind", type=click.Choice(["full", "incremental"]), default="incremental",
              show_default=True, help="incremental stores only the rows changed since the latest "
              "backup (a full one when there is none yet, or after [backup] full_every incrementals).")
@_TARGET
@_ENDPOINT
@json_option
def create(kind: str, target: str | None, endpoint_url: str | None, as_json: bool) -> None:
    """Back up the store while it keeps working (a consistent snapshot)."""
    from ..actions import backup as actions

    made = actions.create(get_config(), _target(target, endpoint_url), kind, _bar("backup", as_json))
    result = made.to_json()
    if as_json:
        print_json(result)
        return
    c = console()
    note = f" on {result['parent']}, {result['rows_stored']:,} rows changed" if result["parent"] else ""
    c.print(f"[bold]{result['backup_id']}[/] ({result['type']}{note}): {result['messages']:,} "
            f"messages, {human_bytes(result['bytes'])} written to {result['target']} in "
            f"{result['seconds']:.1f} s" + ("" if result["encrypted"] else " (not encrypted)"))
    for note in result["notes"]:
        c.print(f"[yellow]note[/]: {note}", markup=True)


@backup.command(name="list")
@_TARGET
@_ENDPOINT
@json_option
def list_(target: str | None, endpoint_url: str | None, as_json: bool) -> None:
    """The backups at the target, oldest first (only complete ones: a manifest was written;
    a damaged manifest is listed as damaged, with a warning on stderr)."""
    from ..actions import backup as actions

    rows = [b.to_json() for b in actions.list_backups(get_config(), _target(target, endpoint_url))]
    for r in rows:
        if r["damaged"]:  # on stderr, with --json too: a script's log shows it
            click.echo(f"warning: backup {r['backup_id']} is damaged: {r['damaged']}", err=True)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    t = Table("backup", "type", "created", "parent", "messages", "store", "written",
              box=None, pad_edge=False)
    for r in rows:
        if r["damaged"]:
            t.add_row(r["backup_id"], "[red]damaged[/]", short_time(r["created_at"]) if
                      r["created_at"] else "?", "?", "?", "?", "?")
            continue
        t.add_row(r["backup_id"], r["type"], short_time(r["created_at"]), r["parent"] or "—",
                  f"{r['messages']:,}", human_bytes(r["store_bytes"]), human_bytes(r["bytes_written"]))
    console().print(t)


@backup.command()
@click.argument("backup_id")
@click.option("--deep", is_flag=True, help="Also restore into a temp folder and check the "
              "restored store's counts and digest against the manifest.")
@_TARGET
@_ENDPOINT
@json_option
def verify(backup_id: str, deep: bool, target: str | None, endpoint_url: str | None,
           as_json: bool) -> None:
    """Re-read and re-hash every object of a backup and its chain; name each damaged one.

    Exit 0 when intact, 13 when anything is missing or damaged."""
    from ..actions import backup as actions
    from ..errors import BackupDamaged

    result = actions.verify(get_config(), _target(target, endpoint_url), backup_id, deep).to_json()
    if as_json:
        print_json(result)
    else:
        c = console()
        if result["ok"]:
            c.print(f"[green]ok[/]: backup {backup_id}, {result['objects']:,} objects "
                    f"({human_bytes(result['bytes'])}) re-hashed"
                    + (", restored and checked against its manifest" if deep else ""))
        else:
            c.print(f"[red]damaged[/]: backup {backup_id}")
            for p in result["problems"]:
                c.print(f"  {p}", markup=False)
    if not result["ok"]:
        sys.exit(BackupDamaged.exit_code)


@backup.command()
@click.argument("backup_id", required=False)
@click.option("--at", "at", help="Restore the newest backup made at or before this time: "
              "an ISO timestamp, or a day (2025-11-15, today, yesterday, 7d, 'Feb 10': "
              "up to the end of that day in --timezone).")
@click.option("--into", "into", required=True,
              help="The folder to restore into (usable as MEMORY_HOME afterwards), or a new "
              "or empty PostgreSQL database: postgresql://user@host/db.")
@click.option("--replace", is_flag=True, help="DIR already holds a store: set it aside "
              "(memory.db.before-restore-TIME) and put the backup in its place.")
@_TARGET
@_ENDPOINT
@timezone_option
@json_option
def restore(backup_id: str | None, at: str | None, into: str, replace: bool, target: str | None,
            endpoint_url: str | None, tz: str | None, as_json: bool) -> None:
    """Rebuild a complete store from a backup, check it against its manifest, put it in DIR
    (or a new PostgreSQL database)."""
    from ..actions import backup as actions
    from ..store.postgres.copy import is_url
    from ..timeutil import parse_user_time, zone

    at_ms = parse_user_time(at, end_of_day=True, tz=zone(tz)) if at else None
    request = actions.RestoreRequest(Path(into), backup_id, at_ms, replace,
                                     into_url=into if is_url(into) else None)
    result = actions.restore(get_config(), _target(target, endpoint_url), request,
                             _bar("restore", as_json)).to_json()
    if as_json:
        print_json(result)
        return
    c = console()
    c.print(f"Restored backup [bold]{result['backup_id']}[/] ({short_time(result['created_at'])}, "
            f"{result['messages']:,} messages) into {result['path']} in {result['seconds']:.1f} s; "
            "its digest matches the manifest.")
    if result["previous_store"]:
        c.print(f"The store that was there is kept at {result['previous_store']}")
    use = (f"MEMORY_DATABASE_URL={result['into']}" if is_url(result["into"])
           else f"MEMORY_HOME={result['into']}")
    c.print(f"Use it with: {use} memory status "
            "(the search index is rebuilt from it by the first search, or `memory index`)")


@backup.command()
@click.option("--keep-daily", default=0, show_default=True, help="Keep the newest backup of each "
              "of the last N days that have one.")
@click.option("--keep-weekly", default=0, show_default=True, help="... of the last N weeks.")
@click.option("--keep-monthly", default=0, show_default=True, help="... of the last N months.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@_TARGET
@_ENDPOINT
@json_option
def prune(keep_daily: int, keep_weekly: int, keep_monthly: int, dry_run: bool, target: str | None,
          endpoint_url: str | None, as_json: bool) -> None:
    """Remove backups the rules do not keep (never an ancestor of one kept), then unused objects."""
    from ..actions import backup as actions

    keep = actions.Keep(keep_daily, keep_weekly, keep_monthly)
    result = actions.prune(get_config(), _target(target, endpoint_url), keep, dry_run).to_json()
    if as_json:
        print_json(result)
        return
    c = console()
    verb = "would remove" if dry_run else "removed"
    c.print(f"kept {len(result['kept'])} backups, {verb} {len(result['removed'])}; "
            f"{result['objects_deleted']:,} unused objects deleted "
            f"({human_bytes(result['bytes_freed'])})")
    for note in result["notes"]:
        c.print(note)


@backup.command()
@click.option("--type", "kind", type=click.Choice(["full", "incremental"]), default="incremental",
              show_default=True)
@click.option("--at", "at", default="03:17", show_default=True, help="Time of day (HH:MM, local).")
@click.option("--systemd", is_flag=True, help="A systemd user timer instead of a cron line.")
@click.option("--install", is_flag=True, help="Write the systemd units to ~/.config/systemd/user "
              "(with --systemd); for cron, pipe the line into `crontab -e` yourself.")
@_TARGET
@json_option
def schedule(kind: str, at: str, systemd: bool, install: bool, target: str | None,
             as_json: bool) -> None:
    """Print (or install) a daily backup: a cron line or a systemd timer."""
    from ..actions import backup as actions

    show_schedule(actions.schedule(get_config(), actions.ScheduleRequest(
        kind, at, systemd, install, target)).to_json(), as_json)
