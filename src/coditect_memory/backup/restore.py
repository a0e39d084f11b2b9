"""`backup restore`: rebuild a complete store from a backup and its chain, and prove it.

The file is assembled in a temp file next to its destination: the full backup's segments,
then each incremental's changed pages in order. Every object is checked against its
manifest's sha256 and size before use; then the restored store's counts, schema version and
message digest must equal the manifest's. Only then is it renamed into place. Any failure
removes the temp file and names what failed: a restore never leaves a half store behind,
and never touches an existing store unless asked (`replace`), which keeps the old one aside.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..store.sqlite.snapshot import inspect_restored
from . import pagemap
from .errors import BackupDamaged, BackupError
from .repository import Repository

DB_NAME = "memory.db"


def pick(repo: Repository, backup_id: str | None, at_ms: int | None) -> str:
    """The backup named, or the newest made at or before `at_ms`."""
    if backup_id:
        return backup_id
    candidates = [m for m in repo.manifests() if m.get("created_ms", 0) <= (at_ms or 0)]
    if not candidates:
        raise BackupError(f"no backup at {repo.target.url} was made at or before that time "
                          "(`memory backup list`)")
    return candidates[-1]["backup_id"]


def _pieces(chain: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any], Any]]:
    """(owner, oid, meta, where) for every object of the chain, data in the order it must be
    applied; page maps are fetched and checked as well, so a restore refuses a chain with any
    damaged object, not only the ones it copies pages from."""
    out = []
    for m in chain:
        out.append((m["backup_id"], m["pagemap"], m["objects"][m["pagemap"]], "pagemap"))
        for first, _n, oid in m.get("segments", []):
            out.append((m["backup_id"], oid, m["objects"][oid], first))
        for _n, oid in m.get("deltas", []):
            out.append((m["backup_id"], oid, m["objects"][oid], None))
    return out


def assemble(repo: Repository, chain: list[dict[str, Any]], out_path: Path,
             workers: int = 4, progress=None) -> None:
    """Write the chain's pages into `out_path` (fetching and decoding on a thread pool)."""
    final = chain[-1]["store"]
    ps = final["page_size"]
    pieces = _pieces(chain)
    if progress:
        progress.start(sum(meta["size"] for _, _, meta, _ in pieces))
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with ThreadPoolExecutor(workers) as pool:
            window: deque[tuple[Future, Any, str, dict]] = deque()

            def apply(item) -> None:
                fut, where, oid, meta = item
                plain = fut.result()
                if where == "pagemap":
                    pass  # not needed to rebuild the file, but part of the backup: checked too
                elif where is not None:  # a segment: consecutive pages from `where`
                    os.pwrite(fd, plain, (where - 1) * ps)
                else:
                    pgnos, data = pagemap.decode_pages(plain, ps, oid)
                    for i, pgno in enumerate(pgnos):
                        os.pwrite(fd, data[i * ps:(i + 1) * ps], (pgno - 1) * ps)
                if progress:
                    progress.advance(meta["size"])

            for owner, oid, meta, where in pieces:
                window.append((pool.submit(repo.get, oid, meta, owner), where, oid, meta))
                if len(window) >= workers * 2:
                    apply(window.popleft())
            while window:
                apply(window.popleft())
        os.ftruncate(fd, final["page_count"] * ps)
        os.fsync(fd)
    finally:
        os.close(fd)
        if progress:
            progress.finish()


def compare(manifest: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What differs between a manifest and a restored store's summary."""
    if "error" in found:
        return [found["error"]]
    problems = []
    if found["quick_check"] != ["ok"]:
        problems.append("SQLite quick_check of the restored store: " + "; ".join(found["quick_check"][:3]))
    if found["schema_version"] != manifest["schema_version"]:
        problems.append(f"schema version {found['schema_version']}, the manifest says "
                        f"{manifest['schema_version']}")
    for table, n in manifest["counts"].items():
        got = found["counts"].get(table)
        if got != n:
            problems.append(f"table {table}: {got} rows restored, the manifest says {n}")
    for table in set(found["counts"]) - set(manifest["counts"]):
        problems.append(f"table {table} was restored but is not in the manifest")
    want, got = manifest["digest"], found["digest"]
    if (want["value"], want["messages"]) != (got["value"], got["messages"]):
        problems.append(f"message digest {got['value'][:16]}… over {got['messages']} messages, "
                        f"the manifest says {want['value'][:16]}… over {want['messages']}")
    return problems


def restore(repo: Repository, backup_id: str, into: Path, replace: bool = False,
            progress=None) -> dict[str, Any]:
    started = time.monotonic()
    into = into.expanduser().absolute()
    dest = into / DB_NAME
    if dest.exists() and not replace:
        raise BackupError(f"{dest} already exists: restore into an empty folder, or pass "
                          "--replace to set the current store aside and put the backup in its place")
    chain = repo.chain(backup_id)
    final = chain[-1]
    if final["store"].get("backend") != "sqlite":
        raise BackupError(f"backup {backup_id} is of a {final['store'].get('backend')} store; "
                          "restore it with that backend's tools")
    into.mkdir(parents=True, exist_ok=True)
    tmp = into / f".{DB_NAME}.restore-{os.getpid()}"
    try:
        assemble(repo, chain, tmp, progress=progress)
        problems = compare(final, inspect_restored(str(tmp)))
        if problems:
            raise BackupDamaged(f"the restored store does not match backup {backup_id}: "
                                + "; ".join(problems[:3]))
        aside = _set_aside(dest) if dest.exists() else None
        os.replace(tmp, dest)
        _fsync_dir(into)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{tmp}{suffix}")
    return {"backup_id": backup_id, "into": str(into), "path": str(dest),
            "chain": [m["backup_id"] for m in chain], "created_at": final["created_at"],
            "messages": final["digest"]["messages"], "digest": final["digest"]["value"],
            "bytes": final["store"]["bytes"], "previous_store": str(aside) if aside else None,
            "seconds": round(time.monotonic() - started, 3)}


def _set_aside(dest: Path) -> Path:
    """Move the current store (and its WAL) to memory.db.before-restore-<time>."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = dest.with_name(f"{dest.name}.before-restore-{stamp}")
    for suffix in ("-wal", "-shm"):
        side = Path(f"{dest}{suffix}")
        if side.exists():
            os.replace(side, f"{aside}{suffix}")
    os.replace(dest, aside)
    return aside


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
