"""`backup restore`: rebuild a complete store from a backup and its chain, and prove it.

The store is assembled in a temp file next to its destination: the full backup's image,
then each incremental's delta applied in order by the backend the manifest names (a new
change history starts: the restored store's next backup is a full one). Every object is
checked against its manifest's sha256 and size before use; then the restored store's
counts, schema version and message digest must equal the manifest's. Only then is it put
in place. Any failure removes the temp file and names what failed: a restore never leaves
a half store behind, and never touches an existing store unless asked (`replace`), which
keeps the old one aside.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BackupDamaged, BackupError, io_error
from ..store.protocol.backup import BackupStore, backup_backend
from .repository import Repository, id_time_ms


def pick(repo: Repository, backup_id: str | None, at_ms: int | None) -> str:
    """The backup named, or the newest made at or before `at_ms`. A damaged manifest that
    may be that newest one is refused, named: restoring an older backup instead would be
    a silent wrong answer."""
    if backup_id:
        return backup_id
    manifests, damaged = repo.scan()
    candidates = [m for m in manifests if m.get("created_ms", 0) <= (at_ms or 0)]
    newest = candidates[-1] if candidates else None
    since = (id_time_ms(newest["backup_id"]) or newest.get("created_ms", 0)) if newest else 0
    newer = [d for d in damaged
             if d.created_ms is None or since <= d.created_ms <= (at_ms or 0)]
    if newer:
        instead = (f"; restore backup {newest['backup_id']} by its id to take the newest "
                   "intact one before it" if newest else "")
        raise BackupDamaged(f"backup {newer[-1].backup_id} may be the newest at that time but "
                            f"its manifest is damaged ({newer[-1].problem}){instead}")
    if newest is None:
        raise BackupError(f"no backup at {repo.target.url} was made at or before that time "
                          "(`memory backup list`)")
    return str(newest["backup_id"])


def _write(repo: Repository, m: dict[str, Any], out_path: Path, size: int, pool,
           workers: int, progress) -> None:
    """Fetch, check and decode a backup's segments (on the pool) and write them into a file."""
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        window: deque[tuple[Future, int, int]] = deque()

        def put(item: tuple[Future, int, int]) -> None:
            fut, offset, length = item
            plain = fut.result()
            if len(plain) != length:
                raise BackupDamaged(f"segment at byte {offset} of backup {m['backup_id']} holds "
                                    f"{len(plain)} bytes, the manifest says {length}")
            os.pwrite(fd, plain, offset)
            if progress:
                progress.advance(length)

        for offset, length, oid in m["segments"]:
            window.append((pool.submit(repo.get, oid, m["objects"][oid], m["backup_id"]),
                           offset, length))
            if len(window) >= workers * 2:
                put(window.popleft())
        while window:
            put(window.popleft())
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def backend_of(manifest: dict[str, Any]) -> type[BackupStore]:
    """The store backend that made a backup (format 2 manifests without one: SQLite)."""
    return backup_backend(manifest["store"].get("backend"))


def assemble(repo: Repository, chain: list[dict[str, Any]], out_path: Path,
             workers: int = 4, progress=None) -> None:
    """Rebuild the chain's store in `out_path`: the full backup's image, then each
    incremental's delta applied in order (every object checked against its manifest)."""
    if progress:
        progress.start(sum(s[1] for m in chain for s in m["segments"]))
    deltas: list[Path] = []
    try:
        with ThreadPoolExecutor(workers) as pool:
            _write(repo, chain[0], out_path, chain[0]["store"]["bytes"], pool, workers, progress)
            for i, m in enumerate(chain[1:]):
                deltas.append(out_path.with_name(f"{out_path.name}.delta-{i}"))
                _write(repo, m, deltas[-1], m["delta"]["bytes"], pool, workers, progress)
        try:
            backend_of(chain[-1]).restore_image(out_path, deltas)
        except BackupDamaged as e:
            raise BackupDamaged(f"the chain of backup {chain[-1]['backup_id']} does not apply "
                                f"to its full backup: {e}") from None
    finally:
        for path in deltas:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        if progress:
            progress.finish()


def compare(manifest: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """What differs between a manifest and a restored store's summary."""
    if "error" in found:
        return [found["error"]]
    problems = list(found["problems"])  # the backend's own integrity check
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


@dataclass(frozen=True)
class Restored:
    """What `backup restore` put where (docs/json-and-exit-codes.md)."""

    backup_id: str
    into: str  # the folder: usable as MEMORY_HOME
    path: str  # the store in it
    chain: list[str]  # the full backup first
    created_at: str
    messages: int
    digest: str
    bytes: int
    previous_store: str | None  # where the store that was there was set aside
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def restore(repo: Repository, backup_id: str, into: Path, replace: bool = False,
            progress=None) -> Restored:
    started = time.monotonic()
    into = into.expanduser().absolute()
    chain = repo.chain(backup_id)
    final = chain[-1]
    backend = backend_of(final)
    dest = backend.store_path(into)
    if dest.exists() and not replace:
        raise BackupError(f"{dest} already exists: restore into an empty folder, or pass "
                          "--replace to set the current store aside and put the backup in its place")
    into.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.restore-{os.getpid()}")
    try:
        assemble(repo, chain, tmp, progress=progress)
        problems = compare(final, backend.inspect_image(tmp))
        if problems:
            raise BackupDamaged(f"the restored store does not match backup {backup_id}: "
                                + "; ".join(problems[:3]))
        aside = backend.install_image(tmp, dest)
    except Exception as e:  # a full or failing destination: one line, and nothing half-installed
        mine = io_error(e, f"restoring into {into}")
        if mine is None:
            raise
        raise mine from e
    finally:
        backend.discard_image(tmp)
    return Restored(backup_id=backup_id, into=str(into), path=str(dest),
                    chain=[m["backup_id"] for m in chain], created_at=final["created_at"],
                    messages=final["digest"]["messages"], digest=final["digest"]["value"],
                    bytes=final["store"]["bytes"], previous_store=str(aside) if aside else None,
                    seconds=round(time.monotonic() - started, 3))
