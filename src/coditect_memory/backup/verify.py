"""`backup verify`: re-read and re-hash every object of a backup and its chain, and name each
one that is missing, truncated or damaged. `deep` also restores the chain into a temporary
folder and checks the restored store's counts and digest against the manifest.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import BackupDamaged
from .repository import Repository
from .restore import assemble, backend_of, compare


@dataclass(frozen=True)
class Verified:
    """What `backup verify` found (docs/json-and-exit-codes.md); not `ok`: exit 13."""

    backup_id: str
    ok: bool
    problems: list[str]  # each missing, truncated or damaged object, or restore mismatch
    objects: int
    bytes: int  # re-hashed
    chain: list[str]
    deep: bool  # also restored and checked against the manifest

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def verify(repo: Repository, backup_id: str, deep: bool = False, workdir: Path | None = None,
           workers: int = 4) -> Verified:
    try:
        chain = repo.chain(backup_id)
    except BackupDamaged as e:
        return Verified(backup_id, False, [str(e)], 0, 0, [], deep)
    found, checked = repo.check_objects(chain, workers)
    problems = [found[oid] for oid in sorted(found)]
    objects = len({oid for m in chain for oid in m["objects"]})
    if deep and not problems:
        problems = _deep(repo, chain, workdir)
    return Verified(backup_id, not problems, problems, objects, checked,
                    [m["backup_id"] for m in chain], deep)


def _deep(repo: Repository, chain: list[dict[str, Any]], workdir: Path | None) -> list[str]:
    """Restore into a temp folder, compare with the manifest, throw the copy away."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="memory-verify-", dir=workdir))
    try:
        path = tmp / "store"
        try:
            assemble(repo, chain, path)
        except BackupDamaged as e:
            return [str(e)]
        return compare(chain[-1], backend_of(chain[-1]).inspect_image(path))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
