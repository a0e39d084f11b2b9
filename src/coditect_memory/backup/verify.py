"""`backup verify`: re-read and re-hash every object of a backup and its chain, and name each
one that is missing, truncated or damaged. `deep` also restores the chain into a temporary
folder and checks the restored store's counts and digest against the manifest.
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .errors import BackupDamaged, BackupError
from .repository import Repository, object_key, object_problem
from .restore import assemble, compare


def verify(repo: Repository, backup_id: str, deep: bool = False, workdir: Path | None = None,
           workers: int = 4) -> dict[str, Any]:
    problems: list[str] = []
    try:
        chain = repo.chain(backup_id)
    except BackupDamaged as e:
        return {"backup_id": backup_id, "ok": False, "problems": [str(e)], "objects": 0,
                "bytes": 0, "chain": []}
    todo: dict[str, tuple[dict[str, Any], str]] = {}
    for m in chain:
        for oid, meta in m["objects"].items():
            todo.setdefault(oid, (meta, m["backup_id"]))
    checked = 0

    def check(item) -> tuple[str | None, int]:
        oid, (meta, owner) = item
        try:
            stored = repo.target.read(object_key(oid))
        except BackupError as e:
            return f"object {object_key(oid)} of backup {owner} cannot be read: {e}", 0
        return object_problem(oid, meta, stored, owner), len(stored or b"")

    with ThreadPoolExecutor(workers) as pool:
        for problem, size in pool.map(check, sorted(todo.items())):
            checked += size
            if problem:
                problems.append(problem)
    result = {"backup_id": backup_id, "ok": not problems, "problems": problems,
              "objects": len(todo), "bytes": checked, "chain": [m["backup_id"] for m in chain],
              "deep": deep}
    if deep and not problems:
        result["problems"] = problems = _deep(repo, chain, workdir)
        result["ok"] = not problems
    return result


def _deep(repo: Repository, chain: list[dict[str, Any]], workdir: Path | None) -> list[str]:
    """Restore into a temp folder, compare with the manifest, throw the copy away."""
    from ..store.sqlite.snapshot import inspect_restored

    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="memory-verify-", dir=workdir))
    try:
        path = tmp / "memory.db"
        try:
            assemble(repo, chain, path)
        except BackupDamaged as e:
            return [str(e)]
        return compare(chain[-1], inspect_restored(str(path)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
