"""The repository format (version 1), the same on a local folder and on S3:

    config.json                 format, version, repository id, encryption (scrypt salt and
                                an HMAC key check) - written once, when the first backup is made
    objects/<ab>/<id>           content-addressed objects (see objects.py); written first
    manifests/<backup_id>.json  one per backup, written LAST: a backup exists once its
                                manifest does, so a killed or failed run leaves no half backup
    locks/<backup_id>           a backup being made: {ms, pid, host} (prune leaves
                                unreferenced objects alone while its process is alive)

A manifest names every object it needs with the SHA-256 and size of the stored bytes, its
parent (incrementals), the schema version, row counts per table and the message digest, and
carries a checksum (an HMAC under the key when encrypted) over all of that. Names read from
a manifest are validated before use: an object id is 64 hex digits, a backup id is
`[0-9A-Za-z._-]`, so no name can reach outside the repository.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import BackupDamaged, BackupError, BackupKeyError
from ..pids import alive
from ..timeutil import iso
from .keys import SCRYPT, derive, key_check, key_material, matches
from .objects import MAGIC, OBJECT_ID, SEALED, Codec, sha256
from .targets import Target

FORMAT = "coditect-memory-backup"
VERSION = 1
FORMAT_MANIFEST = 2  # 2: incrementals are row deltas (format 1 stored changed pages)
BACKUP_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,99}$")
TYPES = ("full", "incremental")


def new_backup_id(now_ms: int) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now_ms / 1000))
    return f"{stamp}{now_ms % 1000:03d}Z-{secrets.token_hex(3)}"


def id_time_ms(backup_id: str) -> int | None:
    """When a backup was made, read from its id (new_backup_id), or None when the id is not
    one of ours: what is known of a backup whose manifest cannot be read."""
    m = re.match(r"^(\d{8}T\d{6})(\d{3})Z-", backup_id)
    if not m:
        return None
    import calendar

    return calendar.timegm(time.strptime(m[1], "%Y%m%dT%H%M%S")) * 1000 + int(m[2])


@dataclass(frozen=True)
class DamagedManifest:
    """A manifest that is there but cannot be used: truncated, garbled or altered."""

    backup_id: str
    created_ms: int | None  # from its id
    problem: str


def object_key(oid: str) -> str:
    if not OBJECT_ID.match(oid):
        raise BackupDamaged(f"refusing object name {oid!r}: not a 64-digit hex id")
    return f"objects/{oid[:2]}/{oid}"


def manifest_key(backup_id: str) -> str:
    if not BACKUP_ID.match(backup_id):
        raise BackupDamaged(f"refusing backup name {backup_id!r}: only letters, digits, '.', "
                            "'_' and '-' are allowed")
    return f"manifests/{backup_id}.json"


def canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def check_names(m: dict[str, Any], key: str) -> None:
    """Reject a manifest whose names could escape the repository or do not fit together."""
    bid = m.get("backup_id")
    if not isinstance(bid, str) or not BACKUP_ID.match(bid):
        raise BackupDamaged(f"manifest {key} has an invalid backup id {bid!r}")
    if m.get("format") != FORMAT_MANIFEST:
        raise BackupDamaged(f"manifest {key} has format {m.get('format')!r}; this version of "
                            f"memory reads format {FORMAT_MANIFEST}: make a new full backup")
    if m.get("type") not in TYPES:
        raise BackupDamaged(f"manifest {key} has an unknown type {m.get('type')!r}")
    parent = m.get("parent")
    if parent is not None and (not isinstance(parent, str) or not BACKUP_ID.match(parent)):
        raise BackupDamaged(f"manifest {key} names an invalid parent {parent!r}")
    if (m["type"] == "incremental") != (parent is not None):
        raise BackupDamaged(f"manifest {key}: a {m['type']} backup with parent {parent!r}")
    objects = m.get("objects")
    if not isinstance(objects, dict):
        raise BackupDamaged(f"manifest {key} has no object list")
    for oid, meta in objects.items():
        if not isinstance(oid, str) or not OBJECT_ID.match(oid):
            raise BackupDamaged(f"manifest {key} names an invalid object {oid!r} (rejected)")
        if not (isinstance(meta, dict) and isinstance(meta.get("sha256"), str)
                and OBJECT_ID.match(meta["sha256"]) and isinstance(meta.get("size"), int)):
            raise BackupDamaged(f"manifest {key} has no valid sha256/size for object {oid}")
    segments = m.get("segments")
    if not isinstance(segments, list) or not all(
            isinstance(s, list) and len(s) == 3 and isinstance(s[0], int) and isinstance(s[1], int)
            and s[0] >= 0 and s[1] >= 0 for s in segments):
        raise BackupDamaged(f"manifest {key} has no valid segment list")
    for oid in (s[2] for s in segments):
        if oid not in objects:
            raise BackupDamaged(f"manifest {key} uses object {oid!r} it does not list")


class Repository:
    """One backup repository on one target."""

    def __init__(self, target: Target, key_file: str | None = None, level: int = 1,
                 key: str | None = None) -> None:
        self.target = target
        self.key_file = key_file
        self.key = key  # the key text, when there is no key file
        self.level = level
        self.config: dict[str, Any] | None = None
        self.codec = Codec(None, level)

    # --- config and keys --------------------------------------------------------------
    def load(self, create: bool = False, need_key: bool = True) -> Repository:
        raw = self.target.read("config.json")
        material = key_material(self.key_file, self.key)
        if raw is None:
            if self._holds_backups(material):  # config.json lost: rebuilt in memory only
                self._init(None, write=create)
                return self
            if not create:
                raise BackupError(f"no backup repository at {self.target.url} (no backups "
                                  "made there yet): run `memory backup create` first")
            self._init(material)
            return self
        try:
            cfg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BackupDamaged(f"{self.target.url}/config.json is not valid JSON") from None
        if cfg.get("format") != FORMAT:
            raise BackupError(f"{self.target.url} is not a coditect-memory backup repository")
        if cfg.get("version") != VERSION:
            raise BackupError(f"{self.target.url} uses repository format {cfg.get('version')}; "
                              f"this version of memory reads format {VERSION}: upgrade memory")
        self.config = cfg
        enc = cfg.get("encryption")
        if enc:
            if material is None:
                if need_key:
                    raise BackupKeyError(f"the backups at {self.target.url} are encrypted: set "
                                         "MEMORY_BACKUP_KEY_FILE (or MEMORY_BACKUP_KEY) to their key")
                return self
            keys = derive(material, bytes.fromhex(enc["salt"]), enc.get("scrypt"))
            if not matches(keys, enc["key_check"]):
                raise BackupKeyError(f"wrong backup key for {self.target.url}: it is not the key "
                                     "these backups were made with")
            self.codec = Codec(keys, self.level)
        elif material is not None and create:
            raise BackupKeyError(f"the backups at {self.target.url} are not encrypted but a key "
                                 "is configured: use a new target for encrypted backups")
        return self

    def _holds_backups(self, material: bytes | None) -> bool:
        """Whether a target without config.json holds backups anyway (config.json was
        deleted or lost). Unencrypted ones need nothing from it: True, and the caller
        rebuilds it. Encrypted ones need its salt, and a new one would make every old backup
        fail its checksum: refused, saying what is missing."""
        manifests = self.target.list("manifests/")
        objects = sorted(k for k in self.target.list("objects/")
                         if OBJECT_ID.match(k.rsplit("/", 1)[-1]))
        if not manifests and not objects:
            return False
        head = self.target.read(objects[0]) if objects else None
        sealed = head is not None and head[:4] == MAGIC and len(head) > 4 and bool(head[4] & SEALED)
        if sealed or material is not None:
            what = "encrypted backups" if sealed else "backups"
            raise BackupDamaged(
                f"{self.target.url} holds {what} ({len(manifests)} manifests, {len(objects)} "
                "objects) but its config.json is missing"
                + (" (it holds the key's salt: without it they cannot be read)" if sealed else "")
                + ": put config.json back from a copy of the repository, or back up to a new "
                "target; memory will not make a new repository over these backups")
        return True

    def _init(self, material: bytes | None, write: bool = True) -> None:
        cfg: dict[str, Any] = {"format": FORMAT, "version": VERSION,
                               "repository_id": secrets.token_hex(16),
                               "created_at": iso(int(time.time() * 1000)), "encryption": None}
        if material is not None:
            salt = os.urandom(16)
            keys = derive(material, salt)
            cfg["encryption"] = {"cipher": "AES-256-GCM", "kdf": "scrypt", "scrypt": SCRYPT,
                                 "salt": salt.hex(), "key_check": key_check(keys)}
            self.codec = Codec(keys, self.level)
        if write:
            self.target.write("config.json", orjson.dumps(cfg, option=orjson.OPT_INDENT_2))
        self.config = cfg

    @property
    def encrypted(self) -> bool:
        return bool(self.config and self.config.get("encryption"))

    # --- manifests --------------------------------------------------------------------
    def backup_ids(self) -> list[str]:
        ids = []
        for key in self.target.list("manifests/"):
            name = key.rsplit("/", 1)[-1]
            if name.endswith(".json"):
                ids.append(name[:-5])
        return ids

    def manifest(self, backup_id: str, check: bool = True) -> dict[str, Any]:
        key = manifest_key(backup_id)
        raw = self.target.read(key)
        if raw is None:
            raise BackupError(f"no backup {backup_id} at {self.target.url} (`memory backup list`)")
        try:
            m = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BackupDamaged(f"manifest {key} is not valid JSON (damaged)") from None
        if not isinstance(m, dict):
            raise BackupDamaged(f"manifest {key} is not a JSON object (damaged)")
        check_names(m, key)
        if m["backup_id"] != backup_id:
            raise BackupDamaged(f"manifest {key} is for backup {m['backup_id']!r}")
        can_check = self.codec.encrypted or not self.encrypted  # an HMAC needs the key
        if check and can_check and m.get("checksum") != self.codec.mac(canonical(m)):
            raise BackupDamaged(f"manifest {key} fails its checksum (damaged or altered)")
        return m

    def scan(self, check: bool = True) -> tuple[list[dict[str, Any]], list[DamagedManifest]]:
        """Every readable manifest, oldest first, and every damaged one (never left out
        silently: a caller lists it, or refuses to act as if it were not there)."""
        out, damaged = [], []
        for bid in self.backup_ids():
            try:
                out.append(self.manifest(bid, check=check))
            except BackupDamaged as e:
                damaged.append(DamagedManifest(bid, id_time_ms(bid), str(e)))
        out.sort(key=lambda m: (m.get("created_ms", 0), m["backup_id"]))
        damaged.sort(key=lambda d: (d.created_ms or 0, d.backup_id))
        return out, damaged

    def manifests(self, check: bool = False) -> list[dict[str, Any]]:
        """Every readable manifest, oldest first (`scan` also names the damaged ones)."""
        return self.scan(check)[0]

    def latest(self, check: bool = True) -> tuple[dict[str, Any] | None, list[DamagedManifest]]:
        """The newest readable manifest and the damaged ones newer than it, reading as few as
        it can (ids start with their creation time): on S3 one LIST and a GET, not a GET per
        backup ever made."""
        damaged: list[DamagedManifest] = []
        for bid in sorted(self.backup_ids(), reverse=True):
            try:
                return self.manifest(bid, check=check), damaged
            except BackupDamaged as e:
                damaged.append(DamagedManifest(bid, id_time_ms(bid), str(e)))
        return None, damaged

    def chain(self, backup_id: str) -> list[dict[str, Any]]:
        """The backup and its ancestors, the full backup first."""
        out = [self.manifest(backup_id)]
        seen = {backup_id}
        while out[-1]["parent"]:
            parent = out[-1]["parent"]
            if parent in seen:
                raise BackupDamaged(f"backup {backup_id} has a loop in its chain at {parent}")
            seen.add(parent)
            try:
                out.append(self.manifest(parent))
            except BackupDamaged:
                raise
            except BackupError:
                raise BackupDamaged(f"backup {out[-1]['backup_id']} needs its parent {parent}, "
                                    "which is missing") from None
        return out[::-1]

    def commit(self, manifest: dict[str, Any]) -> int:
        manifest["checksum"] = self.codec.mac(canonical(manifest))
        data = orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
        self.target.sync()
        self.target.write(manifest_key(manifest["backup_id"]), data)
        self.target.sync()
        return len(data)

    # --- objects ----------------------------------------------------------------------
    def object_ids(self) -> set[str]:
        out = set()
        for key in self.target.list("objects/"):
            name = key.rsplit("/", 1)[-1]
            if OBJECT_ID.match(name):
                out.add(name)
        return out

    def put(self, oid: str, stored: bytes) -> None:
        self.target.write(object_key(oid), stored)

    def fetch(self, oid: str, meta: dict[str, Any], owner: str) -> bytes:
        """The stored bytes of an object, checked against the manifest's sha256 and size."""
        stored = self.target.read(object_key(oid))
        problem = object_problem(oid, meta, stored, owner)
        if problem or stored is None:
            raise BackupDamaged(problem or f"object {oid} is missing")
        return stored

    def get(self, oid: str, meta: dict[str, Any], owner: str) -> bytes:
        return self.codec.decode(oid, self.fetch(oid, meta, owner))

    def object_fingerprints(self) -> dict[str, str]:
        """{object id: what changes when its bytes are rewritten}, from one listing."""
        return {key.rsplit("/", 1)[-1]: fp for key, fp in self.target.fingerprints("objects/").items()
                if OBJECT_ID.match(key.rsplit("/", 1)[-1])}

    def check_objects(self, chain: list[dict[str, Any]], workers: int = 4,
                      trusted: dict[str, str] | None = None) -> tuple[dict[str, str], int]:
        """Re-read and re-hash every object these manifests name: {oid: why it is missing,
        truncated or damaged} and the bytes read. What verify reports, and what a new backup
        checks before it reuses an object or builds on a chain. `trusted`: {oid:
        fingerprint} of objects hashed since they were last written, skipped while their
        fingerprint (object_fingerprints) is unchanged."""
        todo: dict[str, tuple[dict[str, Any], str]] = {}
        for m in chain:
            for oid, meta in m["objects"].items():
                todo.setdefault(oid, (meta, m["backup_id"]))
        if trusted:
            now = self.object_fingerprints()
            todo = {oid: v for oid, v in todo.items()
                    if oid not in trusted or trusted[oid] != now.get(oid)}

        def check(item: tuple[str, tuple[dict[str, Any], str]]) -> tuple[str, str | None, int]:
            oid, (meta, owner) = item
            try:
                stored = self.target.read(object_key(oid))
            except BackupError as e:
                return oid, f"object {object_key(oid)} of backup {owner} cannot be read: {e}", 0
            return oid, object_problem(oid, meta, stored, owner), len(stored or b"")

        problems: dict[str, str] = {}
        read = 0
        with ThreadPoolExecutor(workers) as pool:
            for oid, problem, size in pool.map(check, sorted(todo.items())):
                read += size
                if problem:
                    problems[oid] = problem
        return problems, read

    # --- locks ------------------------------------------------------------------------
    def lock(self, backup_id: str) -> None:
        info = {"ms": int(time.time() * 1000), "pid": os.getpid(), "host": socket.gethostname()}
        self.target.write(f"locks/{backup_id}", orjson.dumps(info))

    def unlock(self, backup_id: str) -> None:
        self.target.delete(f"locks/{backup_id}")

    def locks(self, max_age_s: float = 6 * 3600) -> tuple[list[str], list[str]]:
        """(live, stale) locks. A lock made on this host is live while its process is; one
        from another host (or in the old format, a bare time) while it is younger than
        `max_age_s`. An unreadable lock counts as live: prune then deletes nothing."""
        now = time.time() * 1000
        live: list[str] = []
        stale: list[str] = []
        for key in self.target.list("locks/"):
            name = key.rsplit("/", 1)[-1]
            raw = self.target.read(key)
            if raw is None:
                continue
            try:
                info = orjson.loads(raw)
                if isinstance(info, int):
                    info = {"ms": info}
                ms = int(info["ms"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                live.append(name)
                continue
            if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
                alive = _alive(info["pid"])
            else:
                alive = now - ms < max_age_s * 1000
            (live if alive else stale).append(name)
        return live, stale


def _alive(pid: int) -> bool:
    return pid == os.getpid() or alive(pid)


def object_problem(oid: str, meta: dict[str, Any], stored: bytes | None, owner: str) -> str | None:
    """Why an object's stored bytes are not what its manifest recorded, or None."""
    where = f"object {object_key(oid)} ({meta.get('kind', 'object')} of backup {owner})"
    if stored is None:
        return f"{where} is missing"
    if len(stored) != meta["size"]:
        return (f"{where} is truncated or altered: {len(stored)} bytes, the manifest says "
                f"{meta['size']}")
    if sha256(stored) != meta["sha256"]:
        return f"{where} is damaged: its sha256 does not match the manifest"
    return None
