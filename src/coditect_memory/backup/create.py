"""`backup create`: snapshot the store, store what the repository lacks, commit a manifest.

A full backup cuts a frozen image of the store (the backend's: store/protocol/backup.py)
into segments of SEGMENT_BYTES, each named by its content, so a segment already in the
repository is not written again. An incremental asks the store for what changed since the
latest backup (for SQLite: the rows above that backup's marks and the rows its change log
names, see store/sqlite/changes.py) as a small delta, and stores that the same way: a day
of new sessions costs about its own size, and finding it costs no scan of the store. When
the latest backup cannot be built on (its chain is damaged, the store was restored or
migrated since, another store made it), the backup is a full one and says why in `notes`.

Nothing is reused or built on unchecked: a full backup re-reads and re-hashes every object
of the latest chain first (what `verify` does; reading costs far less than the compression
it saves) and writes a damaged one again. An incremental re-hashes the chain's objects too,
except those this machine wrote or hashed since and whose size and mtime (ETag on S3) have
not changed since (the record in the work folder): hashing a 1M-message store's chain
(470 MB) takes about 0.3 s, as long as the incremental itself, and the record check 0.01 s,
while any rewrite of an object, a truncation or a garbled copy, changes its fingerprint. Damage that keeps the fingerprint (bit rot under the file system) is found
by `verify` and by the next full backup ([backup] full_every). An incremental on a damaged
chain is made as a full one; `notes` names each repair.

Order of writes: objects, then (after a sync) the manifest. Until the manifest is written
the backup does not exist; a killed run leaves only unreferenced objects (reused by the next
run when they are the same, removed by `prune`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from .. import __version__
from ..errors import BackupDamaged, BackupError
from ..failpoints import failpoint
from ..store.base import DeltaUnavailable, Store
from ..timeutil import iso
from .objects import sha256
from .repository import FORMAT_MANIFEST, Repository, new_backup_id

SEGMENT_BYTES = 4 << 20  # few objects, and reuse of unchanged segments between full backups


class _Writer:
    """Encodes and writes objects on a small thread pool (zstd, AES and hashlib release
    the GIL); remembers what was written and how many bytes."""

    def __init__(self, repo: Repository, known: dict[str, dict[str, Any]], workers: int) -> None:
        self.repo = repo
        self.known = known  # oid -> meta for objects already in the repository
        self.objects: dict[str, dict[str, Any]] = {}
        self.bytes = 0
        self.written = 0
        self.lock = threading.Lock()
        self.claimed: set[str] = set()
        self.pool = ThreadPoolExecutor(workers)
        self.pending: deque[Future] = deque()
        self.limit = workers * 2

    def submit(self, fn, *args) -> Future:
        while len(self.pending) >= self.limit:
            self.pending.popleft().result()
        fut = self.pool.submit(fn, *args)
        self.pending.append(fut)
        return fut

    def store(self, oid: str, kind: str, plain: bytes) -> None:
        """Write the object unless an identical one is in the repository or being written
        (two equal segments in one snapshot, e.g. runs of zeroed free pages, are one object,
        written once: with encryption two writes would differ by their nonce)."""
        with self.lock:
            if oid in self.known:
                self.objects[oid] = {**self.known[oid], "kind": kind}
                return
            if oid in self.claimed:
                return  # the thread that claimed it records it in self.objects
            self.claimed.add(oid)
        stored = self.repo.codec.encode(oid, plain)
        meta = {"kind": kind, "sha256": sha256(stored), "size": len(stored)}
        self.repo.put(oid, stored)
        with self.lock:
            self.objects[oid] = meta
            self.known[oid] = {"sha256": meta["sha256"], "size": meta["size"]}
            self.bytes += len(stored)
            self.written += 1

    def drain(self) -> None:
        while self.pending:
            self.pending.popleft().result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _known_objects(repo: Repository, chain: list[dict[str, Any]], workers: int,
                   trusted: dict[str, str] | None = None
                   ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The chain's objects that are in the repository and intact (re-hashed now, or
    `trusted`): what a new backup can reuse instead of writing again; and why each of the
    others cannot be."""
    problems, _ = repo.check_objects(chain, max(workers, 4), trusted)
    known: dict[str, dict[str, Any]] = {}
    for m in chain:
        for oid, meta in m["objects"].items():
            if oid not in problems:
                known[oid] = {"sha256": meta["sha256"], "size": meta["size"]}
    return known, problems


def _record_path(repo: Repository, workdir: Path) -> Path:
    return workdir / f"verified-{(repo.config or {}).get('repository_id', 'none')}.json"


def _load_record(path: Path) -> dict[str, str]:
    """{oid: fingerprint} of objects hashed (or written) by the last backup here; {} when
    there is none or it cannot be read (then everything is re-hashed)."""
    try:
        record = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return record if isinstance(record, dict) else {}


def _save_record(path: Path, repo: Repository, oids: set[str]) -> None:
    """Remember the fingerprints of the objects of the chain just committed: each was hashed
    by this run, written by it, or trusted by the same rule."""
    now = repo.object_fingerprints()
    record = {oid: now[oid] for oid in oids if oid in now}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(orjson.dumps(record))
    os.replace(tmp, path)


def _latest_chain(repo: Repository) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    """The newest readable backup and its ancestors (full first), or why that chain is
    unusable; and a note for each newer manifest that is damaged."""
    latest, skipped = repo.latest()
    notes = [f"backup {d.backup_id} is damaged and was left out ({d.problem})" for d in skipped]
    if latest is None:
        return [], None, notes
    try:
        return repo.chain(latest["backup_id"]), None, notes
    except BackupDamaged as e:
        return [latest], f"the latest backup's chain is damaged ({e})", notes


def _unbuildable(chain: list[dict[str, Any]], problems: dict[str, str], full_every: int
                 ) -> str | None:
    """Why an incremental should not be built on this chain: an object is missing or
    damaged, or the chain is as long as `full_every` allows."""
    for m in chain:
        for oid in m["objects"]:
            if oid in problems:
                return problems[oid]
    if full_every and len(chain) > full_every:
        return (f"the latest chain holds {len(chain) - 1} incrementals ([backup] full_every = "
                f"{full_every})")
    return None


@dataclass(frozen=True)
class BackupMade:
    """What `backup create` made (docs/json-and-exit-codes.md)."""

    backup_id: str
    type: str  # full | incremental
    parent: str | None
    created_at: str
    # The one size of a backup: its new objects as stored on the target (compressed,
    # encrypted), the manifest not counted; recorded in the manifest as `bytes_written`,
    # so `backup list` shows the same figure.
    bytes: int
    objects_written: int
    store_bytes: int
    rows_stored: int | None  # an incremental's changed rows
    snapshot: str  # direct | copy | delta
    messages: int
    seconds: float
    target: str
    encrypted: bool
    notes: list[str]  # e.g. why an incremental was made as a full backup

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def create_backup(store: Store, repo: Repository, kind: str, workdir: Path, progress=None,
                  workers: int = 2, full_every: int = 0) -> BackupMade:
    started = time.monotonic()
    # only the latest chain is read, not every manifest
    chain, damaged, notes = _latest_chain(repo)
    parent = chain[-1] if kind == "incremental" and chain else None
    record = _record_path(repo, workdir)
    known, problems = _known_objects(repo, chain, workers, _load_record(record) if parent else None)
    if parent and (why := damaged or _unbuildable(chain, problems, full_every)):
        notes.append(f"{why}; made a full backup instead")
        parent = None
        known, problems = _known_objects(repo, chain, workers)  # a full re-hashes all it reuses
    writer = _Writer(repo, known, workers)
    backup_id = new_backup_id(int(time.time() * 1000))
    repo.lock(backup_id)
    try:
        source = None
        if parent:
            try:
                source = store.backup_delta(str(workdir), parent)
            except DeltaUnavailable as e:
                notes.append(f"{e}; made a full backup instead")
                parent = None
                known, problems = _known_objects(repo, chain, workers)  # re-hash all it reuses
                writer.known = known
        if source is None:
            source = store.backup_snapshot(str(workdir))
        failpoint("backup:source-ready")
        with source, ThreadPoolExecutor(1) as side:
            created_ms = int(time.time() * 1000)
            # a full backup's counts and digest are a scan of the snapshot: one core scans
            # rows while the other reads, hashes and compresses pages
            summary_future = side.submit(source.summary)
            if progress:
                progress.start(source.size)
            segments = _store_file(source, repo, writer, "delta" if parent else "segment", progress)
            summary = summary_future.result()
            writer.drain()
            store_info = source.info
            manifest = {
                "format": FORMAT_MANIFEST, "backup_id": backup_id,
                "type": "incremental" if parent else "full",
                "parent": parent["backup_id"] if parent else None,
                "created_at": iso(created_ms), "created_ms": created_ms,
                "tool_version": __version__, **summary, "store": store_info,
                "segments": segments, "objects": writer.objects,
            }
            if parent:
                manifest["delta"] = {"bytes": source.size, "rows": source.rows,
                                     "touched": source.touched}
        rewritten = sorted(set(problems) & set(writer.objects))
        if rewritten:
            notes.append(f"{len(rewritten)} damaged or missing object(s) of the earlier backups "
                         f"were written again: {', '.join(problems[o] for o in rewritten[:3])}")
        manifest["bytes_written"] = writer.bytes
        manifest["seconds"] = round(time.monotonic() - started, 3)
        failpoint("backup:objects-stored")
        repo.commit(manifest)
        failpoint("backup:committed")
        # the chain just committed: this backup's objects, and its parent's chain
        chain_objects = set(writer.objects) | ({o for m in chain for o in m["objects"]}
                                               if parent else set())
        with contextlib.suppress(OSError, BackupError):  # without it, the next one re-hashes
            _save_record(record, repo, chain_objects - set(problems))
    except OSError as e:
        raise BackupError(f"cannot read the store for a backup: {e}") from None
    finally:
        writer.close()
        if progress:
            progress.finish()
        with contextlib.suppress(BackupError):  # a stale lock only delays prune's clean-up
            repo.unlock(backup_id)
    return BackupMade(
        backup_id=backup_id, type=manifest["type"], parent=manifest["parent"],
        created_at=manifest["created_at"], bytes=manifest["bytes_written"],
        objects_written=writer.written, store_bytes=store_info["bytes"],
        rows_stored=manifest["delta"]["rows"] if parent else None,
        snapshot=store_info["snapshot"], messages=summary["digest"]["messages"],
        seconds=manifest["seconds"], target=repo.target.url, encrypted=repo.codec.encrypted,
        notes=notes)


def _store_file(source, repo: Repository, writer: _Writer, kind: str, progress) -> list[list]:
    """Cut the source (a frozen image of the store or a delta) into segments of
    SEGMENT_BYTES, each named by its content, and store the ones the repository lacks."""
    def one(offset: int, length: int) -> list:
        data = source.read(offset, length)
        oid = repo.codec.object_id(kind, data)
        writer.store(oid, kind, data)
        if progress:
            progress.advance(length)
        return [offset, length, oid]

    futures = [writer.submit(one, off, min(SEGMENT_BYTES, source.size - off))
               for off in range(0, source.size, SEGMENT_BYTES)]
    writer.drain()
    return [f.result() for f in futures]
