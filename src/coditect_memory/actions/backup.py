"""Backups: create, list, verify, restore, prune, schedule.

Each action opens the repository named by the request or by [backup] in the Settings (the
key from there too), does one thing through backup/ and returns what it did. Restore finds
the store backend from the backup's manifest; create backs up the store the Settings name.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from ..backup.create import BackupMade, create_backup
from ..backup.repository import Repository
from ..backup.restore import Restored, pick
from ..backup.restore import restore as restore_backup
from ..backup.retention import Pruned
from ..backup.retention import prune as prune_backups
from ..backup.verify import Verified
from ..backup.verify import verify as verify_backup
from ..errors import StoreError, UsageError
from ..scheduling import Schedule
from ..settings import Settings

__all__ = ["BackupInfo", "BackupMade", "Keep", "Pruned", "Restored", "RestoreRequest",
           "Schedule", "ScheduleRequest", "Target", "Verified", "create", "list_backups",
           "open_repository", "prune", "restore", "schedule", "verify"]


class Progress(Protocol):
    """A byte counter for a person watching (the CLI's bar): total, then bytes done."""

    def start(self, total: int) -> None: ...

    def advance(self, n: int) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """Where the backups are: a folder or s3://bucket/prefix; None: [backup] in the Settings."""

    url: str | None = None
    endpoint_url: str | None = None  # an S3-compatible store's endpoint


def open_repository(settings: Settings, target: Target, create: bool = False,
                    need_key: bool = True) -> Repository:
    """The repository at the target, opened with the configured key (`create`: made there
    when there is none yet; `need_key=False`: an encrypted one may be listed without it)."""
    from ..backup.targets import open_target

    cfg = settings.backup
    tgt = open_target(cfg.resolve_target(target.url), target.endpoint_url or cfg.endpoint_url)
    repo = Repository(tgt, cfg.key_file, cfg.compression_level, key=cfg.key)
    return repo.load(create=create, need_key=need_key)


def _workdir(settings: Settings) -> Path:
    return settings.home / "backup-tmp"


def create(settings: Settings, target: Target, kind: str = "incremental",
           progress: Progress | None = None) -> BackupMade:
    """Back up the store while it keeps working: incremental on the latest backup when it
    can be (`kind`), else full."""
    from ..store import open_store

    if kind not in ("full", "incremental"):
        raise UsageError(f"a backup is full or incremental, not {kind!r}")
    if not settings.database_url and not settings.db_path.exists():
        raise StoreError(f"no store at {settings.db_path}: nothing to back up (run `memory ingest`)")
    repo = open_repository(settings, target, create=True)
    from ..privacy import tombstones

    with open_store(settings, create=False) as store:
        made = create_backup(store, repo, kind, _workdir(settings), progress,
                             full_every=settings.backup.full_every)
        tombstones.save(store, repo)  # forgotten stays forgotten at any restore
        from ..privacy.levels import ephemeral_in_store

        if n := ephemeral_in_store(store, settings.privacy):  # a backup is an image: say so
            made.notes.append(f"{'every' if n < 0 else f'{n:,}'} EPHEMERAL message(s) are in this "
                              "backup (it copies the whole store); set [privacy] store_ephemeral "
                              "= false to keep them out of the store and its backups")
        _audit(settings, "backup", repo.target.url, {
            "backup_id": made.backup_id, "type": made.type, "messages": made.messages,
            "rows_stored": made.rows_stored, "objects_written": made.objects_written})
        return made


def _audit(settings: Settings, action: str, target: str, detail: dict[str, Any]) -> None:
    """One audit entry (counts and ids, never content), deferred: written to the store, it
    would change what the next backup copies (privacy/audit.py)."""
    import contextlib

    from ..privacy import audit

    with contextlib.suppress(OSError):  # a read-only MEMORY_HOME: the backup still counts
        audit.defer(settings.home, action, target, detail)


@dataclass(frozen=True)
class BackupInfo:
    """One backup, as `backup list` shows it: a complete one, or one whose manifest is
    damaged (`damaged` says why; what the manifest held is unknown: None)."""

    backup_id: str
    type: str | None
    created_at: str | None
    parent: str | None
    messages: int | None
    schema_version: int | None
    store_bytes: int | None
    bytes_written: int | None
    seconds: float | None
    damaged: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def list_backups(settings: Settings, target: Target) -> list[BackupInfo]:
    """The backups at the target, oldest first (only complete ones: a manifest was written),
    each damaged manifest among them (never left out: restoring "the newest" depends on it)."""
    from ..timeutil import iso

    repo = open_repository(settings, target, need_key=False)
    manifests, damaged = repo.scan()
    rows = [BackupInfo(m["backup_id"], m["type"], m["created_at"], m["parent"],
                       m["digest"]["messages"], m["schema_version"], m["store"]["bytes"],
                       m.get("bytes_written"), m.get("seconds")) for m in manifests]
    rows += [BackupInfo(d.backup_id, None, iso(d.created_ms), None, None, None, None, None, None,
                        damaged=d.problem) for d in damaged]
    return sorted(rows, key=lambda r: (r.created_at or "", r.backup_id))


def verify(settings: Settings, target: Target, backup_id: str, deep: bool = False) -> Verified:
    """Re-hash every object of a backup and its chain (`deep`: also restore it into a temp
    folder and check it against its manifest). Damage is reported, not raised."""
    repo = open_repository(settings, target)
    found = verify_backup(repo, backup_id, deep, _workdir(settings))
    _audit(settings, "backup.verify", repo.target.url, {
        "backup_id": found.backup_id, "ok": found.ok, "objects": found.objects,
        "problems": len(found.problems), "deep": found.deep})
    return found


@dataclass(frozen=True)
class RestoreRequest:
    into: Path  # the folder: usable as MEMORY_HOME afterwards
    backup_id: str | None = None  # this backup, or
    at_ms: int | None = None  # the newest made at or before this time
    replace: bool = False  # a store in `into` is set aside, not refused
    into_url: str | None = None  # instead of `into`: a new or empty PostgreSQL database


def restore(settings: Settings, target: Target, request: RestoreRequest,
            progress: Progress | None = None) -> Restored:
    """Rebuild a complete store from a backup, check it against its manifest, put it in
    place; replacing a store waits for (and holds off) its writers."""
    from ..ingest.lock import IngestLock

    if bool(request.backup_id) == (request.at_ms is not None):
        raise UsageError("name a backup ID or give --at TIME (one of them)")
    repo = open_repository(settings, target)
    chosen = pick(repo, request.backup_id, request.at_ms)
    if request.into_url:
        return _restore_into_server(settings, repo, chosen, request, progress)
    if not request.replace:
        done = restore_backup(repo, chosen, request.into, progress=progress)
    else:
        with IngestLock(request.into.expanduser().absolute(), settings.ingest.lock_wait_seconds):
            done = restore_backup(repo, chosen, request.into, replace=True, progress=progress)
    from ..privacy import tombstones

    tombstones.apply_at_restore(settings, repo, Path(done.into), done.previous_store)
    _audit_restore(settings, repo, chosen, done)
    return done


def _audit_restore(settings: Settings, repo: Repository, chosen: str, done: Restored) -> None:
    """The restore in this machine's audit log: its store's when it can be written, else
    deferred beside it."""
    if settings.database_url or (settings.db_path.exists() and os.access(settings.db_path, os.W_OK)):
        from ..privacy import audit
        from ..store import open_store

        with open_store(settings, create=False) as store:  # the log of this machine's store
            audit.record(store, "restore", target=repo.target.url, home=settings.home,
                         detail={"backup_id": chosen, "into": done.into, "messages": done.messages})
    else:
        _audit(settings, "restore", repo.target.url, {"backup_id": chosen, "into": done.into,
                                                      "messages": done.messages})


def _restore_into_server(settings: Settings, repo: Repository, chosen: str,
                         request: RestoreRequest, progress: Progress | None) -> Restored:
    """`--into postgresql://...`: the backup restored into a temp folder (checked against its
    manifest, forgotten rows removed), then copied onto the server by `db copy` (which checks
    counts and digest again, and refuses a database holding another store)."""
    import dataclasses
    import shutil
    import tempfile

    from ..privacy import tombstones
    from ..store.postgres.backend import shown_url
    from .db import CopyRequest, db_copy

    assert request.into_url
    if request.replace:
        raise UsageError("--replace is for a folder; a database is restored into only when it "
                         "is new or empty (create one with createdb)")
    _workdir(settings).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="restore-", dir=_workdir(settings)))
    try:
        done = restore_backup(repo, chosen, tmp, progress=progress)
        tombstones.apply_at_restore(settings, repo, tmp, None)
        db_copy(settings, CopyRequest(done.path, request.into_url))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shown = shown_url(request.into_url)
    done = dataclasses.replace(done, into=shown, path=shown)
    _audit_restore(settings, repo, chosen, done)
    return done


@dataclass(frozen=True)
class Keep:
    """prune's rules: the newest backup of each of the last N days, weeks, months."""

    daily: int = 0
    weekly: int = 0
    monthly: int = 0


def prune(settings: Settings, target: Target, keep: Keep, dry_run: bool = False) -> Pruned:
    """Remove the backups the rules do not keep (never an ancestor of one kept), then the
    objects no remaining backup uses."""
    return prune_backups(open_repository(settings, target, need_key=False), asdict(keep), dry_run)


@dataclass(frozen=True)
class ScheduleRequest:
    kind: str = "incremental"
    at: str = "03:17"  # HH:MM, local time
    systemd: bool = False  # a systemd user timer instead of a cron line
    install: bool = False  # write the systemd units to ~/.config/systemd/user
    target: str | None = None


def schedule(settings: Settings, request: ScheduleRequest) -> Schedule:
    """A daily `backup create` as a cron line or systemd units (installed when asked).
    Refused without a target: a job that would fail every night without a word is worse
    than none."""
    from .. import scheduling as sched

    try:
        hour, minute = (int(x) for x in request.at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise UsageError(f"--at {request.at!r}: use HH:MM, e.g. 03:17") from None
    settings.backup.resolve_target(request.target)
    if request.install and not request.systemd:
        raise UsageError("--install writes systemd units (add --systemd); for cron, add the "
                         "printed line with `crontab -e`")
    args = ["backup", "create", "--type", request.kind]
    if request.target:
        args += ["--target", request.target]
    return sched.plan(sched.command(args, settings.home), sched.When(hour, minute),
                      "memory-backup", "coditect-memory daily backup",
                      settings.home / "backup.log", request.systemd, request.install)

