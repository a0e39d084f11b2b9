"""The backup key: read from the key file or taken as text (both as Settings gives them), stretched with scrypt and a salt kept
in the repository, split into an encryption key and a MAC key.

The repository keeps an HMAC of a fixed text under the MAC key, so a wrong key is refused
with one line before anything is decrypted (never garbage, never a traceback).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackupKeyError

ENV_KEY = "MEMORY_BACKUP_KEY"  # named in messages; settings.py reads it
_CHECK = b"coditect-memory backup key check v1"
SCRYPT = {"n": 1 << 14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Keys:
    enc: bytes  # AES-256-GCM key for objects
    mac: bytes  # HMAC-SHA256 key for object ids, manifests and the key check


def key_material(key_file: str | None = None, key: str | None = None) -> bytes | None:
    """The configured key, or None: the key file ($MEMORY_BACKUP_KEY_FILE, then [backup]
    key_file), else the key text ($MEMORY_BACKUP_KEY)."""
    path = key_file
    if path:
        try:
            data = Path(path).expanduser().read_bytes().strip()
        except OSError as e:
            raise BackupKeyError(f"cannot read the backup key file {path}: {e.strerror}") from None
        if not data:
            raise BackupKeyError(f"the backup key file {path} is empty")
        return data
    text = key
    if text is not None:
        if not text.strip():
            raise BackupKeyError(f"${ENV_KEY} is set but empty")
        return text.strip().encode()
    return None


def derive(material: bytes, salt: bytes, params: dict[str, int] | None = None) -> Keys:
    p = params or SCRYPT
    out = hashlib.scrypt(material, salt=salt, n=p["n"], r=p["r"], p=p["p"], dklen=64,
                         maxmem=256 << 20)
    return Keys(enc=out[:32], mac=out[32:])


def key_check(keys: Keys) -> str:
    return hmac.new(keys.mac, _CHECK, hashlib.sha256).hexdigest()


def matches(keys: Keys, expected: str) -> bool:
    return hmac.compare_digest(key_check(keys), expected)
