"""`backup create`: snapshot the store, store what the repository lacks, commit a manifest.

A full backup cuts the snapshot into segments of SEGMENT_PAGES consecutive pages, each named
by its pages' digests, so a segment that is already in the repository is not written again.
An incremental compares every page's digest with its parent's page map and stores only the
pages that changed, packed into delta objects. SQLite keeps a page where it is unless it
changes, so a day of new sessions costs the pages it wrote, not the store's size.

Order of writes: objects, then (after a sync) the manifest. Until the manifest is written
the backup does not exist; a killed run leaves only unreferenced objects (reused by the next
run when they are the same, removed by `prune`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import __version__
from ..timeutil import iso
from . import pagemap
from .errors import BackupDamaged, BackupError
from .objects import sha256
from .repository import Repository, new_backup_id

SEGMENT_PAGES = 1024  # 4 MiB of 4 KiB pages: few objects, and reuse of unchanged segments
DELTA_PAGES = 1024


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


def _known_objects(repo: Repository, manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Objects listed by committed manifests and present in the repository."""
    present = repo.object_ids()
    known: dict[str, dict[str, Any]] = {}
    for m in manifests:
        for oid, meta in m["objects"].items():
            if oid in present:
                known[oid] = {"sha256": meta["sha256"], "size": meta["size"]}
    return known


def chain_pagemap(repo: Repository, chain: list[dict[str, Any]]) -> bytearray:
    current: bytearray | None = None
    for m in chain:
        oid = m["pagemap"]
        current = pagemap.apply(current, repo.get(oid, m["objects"][oid], m["backup_id"]), oid)
    return current or bytearray()


def create_backup(store, repo: Repository, kind: str, workdir: Path,
                  progress=None, workers: int = 2) -> dict[str, Any]:
    started = time.monotonic()
    manifests = repo.manifests(check=True)
    parent = manifests[-1] if kind == "incremental" and manifests else None
    notes: list[str] = []
    chain: list[dict[str, Any]] = []
    if parent:
        try:
            chain = repo.chain(parent["backup_id"])
        except BackupDamaged as e:
            notes.append(f"the latest backup's chain is damaged ({e}); made a full backup instead")
            parent = None
    writer = _Writer(repo, _known_objects(repo, manifests), workers)
    backup_id = new_backup_id(int(time.time() * 1000))
    repo.lock(backup_id)
    try:
        with store.backup_snapshot(workdir) as snap, ThreadPoolExecutor(1) as side:
            created_ms = int(time.time() * 1000)
            # counts and digest come from the same read transaction; computed alongside the
            # pages (one core scans rows while the other hashes and compresses pages)
            summary_future = side.submit(snap.summary)
            if parent and parent["store"]["page_size"] != snap.page_size:
                parent, chain = None, []  # the page size changed (VACUUM): start a new chain
            old_map = None
            if parent:
                try:
                    old_map = chain_pagemap(repo, chain)
                except BackupDamaged as e:
                    notes.append(f"the latest backup's page map cannot be read ({e}); made a "
                                 "full backup instead")
                    parent = None
            if progress:
                progress.start(snap.page_count * snap.page_size)
            if old_map is None:
                body = _full(snap, repo, writer, progress)
            else:
                body = _incremental(snap, repo, writer, old_map, progress)
            summary = summary_future.result()
            writer.drain()
            manifest = {
                "format": 1, "backup_id": backup_id, "type": "incremental" if parent else "full",
                "parent": parent["backup_id"] if parent else None,
                "created_at": iso(created_ms), "created_ms": created_ms,
                "tool_version": __version__, **summary,
                "store": {"backend": snap.backend, "page_size": snap.page_size,
                          "page_count": snap.page_count,
                          "bytes": snap.page_size * snap.page_count, "snapshot": snap.method},
                **body, "objects": writer.objects,
            }
        manifest["bytes_written"] = writer.bytes
        manifest["seconds"] = round(time.monotonic() - started, 3)
        written = repo.commit(manifest)
    except OSError as e:
        raise BackupError(f"cannot read the store for a backup: {e}") from None
    finally:
        writer.close()
        if progress:
            progress.finish()
        with contextlib.suppress(BackupError):  # a stale lock only delays prune's clean-up
            repo.unlock(backup_id)
    return {"backup_id": backup_id, "type": manifest["type"], "parent": manifest["parent"],
            "created_at": manifest["created_at"], "bytes": writer.bytes + written,
            "objects_written": writer.written,
            "store_bytes": manifest["store"]["bytes"], "pages_stored": body.get("pages_stored"),
            "snapshot": manifest["store"]["snapshot"],
            "messages": summary["digest"]["messages"], "seconds": manifest["seconds"],
            "target": repo.target.url, "encrypted": repo.codec.encrypted, "notes": notes}


def _full(snap, repo: Repository, writer: _Writer, progress) -> dict[str, Any]:
    segments: list[list] = []
    hashes: list[bytes] = []
    futures: list[Future] = []

    def one(first: int, n: int) -> tuple[int, int, str, bytes]:
        data = snap.read(first, n)
        digests = pagemap.page_hashes(data, snap.page_size)
        oid = repo.codec.object_id("segment", digests)
        writer.store(oid, "segment", data)
        if progress:
            progress.advance(len(data))
        return first, n, oid, digests

    for first in range(1, snap.page_count + 1, SEGMENT_PAGES):
        futures.append(writer.submit(one, first, min(SEGMENT_PAGES, snap.page_count - first + 1)))
    writer.drain()
    for fut in futures:
        first, n, oid, digests = fut.result()
        segments.append([first, n, oid])
        hashes.append(digests)
    blob = pagemap.encode_full(snap.page_count, b"".join(hashes))
    oid = repo.codec.object_id("pagemap", blob)
    writer.store(oid, "pagemap", blob)
    return {"segments": segments, "pagemap": oid, "pages_stored": snap.page_count}


def _incremental(snap, repo: Repository, writer: _Writer, old_map: bytearray,
                 progress) -> dict[str, Any]:
    H = pagemap.HASH
    old_pages = len(old_map) // H
    deltas: list[list] = []
    changed: list[int] = []
    changed_hashes: list[bytes] = []
    buf_pgnos: list[int] = []
    buf_pages: list[bytes] = []
    buf_hashes: list[bytes] = []

    def flush() -> None:
        if not buf_pgnos:
            return
        pgnos, pages, digests = list(buf_pgnos), list(buf_pages), b"".join(buf_hashes)
        oid = repo.codec.object_id("delta", pagemap.struct.pack(f"<{len(pgnos)}I", *pgnos), digests)
        deltas.append([len(pgnos), oid])
        writer.submit(writer.store, oid, "delta", pagemap.encode_pages(pgnos, pages))
        buf_pgnos.clear()
        buf_pages.clear()
        buf_hashes.clear()

    def hash_segment(first: int, n: int) -> tuple[int, bytes, bytes]:
        data = snap.read(first, n)
        return first, data, pagemap.page_hashes(data, snap.page_size)

    def consume(fut: Future) -> None:
        first, data, digests = fut.result()
        ps = snap.page_size
        for i in range(len(digests) // H):
            pgno = first + i
            d = digests[i * H:(i + 1) * H]
            if pgno <= old_pages and old_map[(pgno - 1) * H:pgno * H] == d:
                continue
            changed.append(pgno)
            changed_hashes.append(d)
            buf_pgnos.append(pgno)
            buf_pages.append(data[i * ps:(i + 1) * ps])
            buf_hashes.append(d)
            if len(buf_pgnos) >= DELTA_PAGES:
                flush()
        if progress:
            progress.advance(len(data))

    with ThreadPoolExecutor(2) as hasher:
        window: deque[Future] = deque()
        for first in range(1, snap.page_count + 1, SEGMENT_PAGES):
            n = min(SEGMENT_PAGES, snap.page_count - first + 1)
            window.append(hasher.submit(hash_segment, first, n))
            if len(window) >= 3:
                consume(window.popleft())
        while window:
            consume(window.popleft())
    flush()
    writer.drain()
    blob = pagemap.encode_delta(snap.page_count, changed, changed_hashes)
    oid = repo.codec.object_id("pagemap", blob)
    writer.store(oid, "pagemap", blob)
    return {"deltas": deltas, "pagemap": oid, "pages_stored": len(changed)}
