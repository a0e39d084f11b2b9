"""How an object is stored: a 5-byte header, then a zstd frame, sealed with AES-256-GCM when
the repository has a key (the object id is the associated data, so an object cannot be
swapped for another under a different name).

    b"CMB1" + flags(1) [+ nonce(12)] + payload        flags: 1 = zstd, 2 = AES-256-GCM

Object ids are SHA-256 (or HMAC-SHA256 under the key, so ids reveal nothing) over what the
object holds; the manifest also records the SHA-256 and size of the stored bytes, which is
what `verify` re-hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading

from ..errors import BackupDamaged, BackupKeyError
from .keys import Keys

MAGIC = b"CMB1"
ZSTD, SEALED = 1, 2
OBJECT_ID = re.compile(r"^[0-9a-f]{64}$")


class Codec:
    """Compression, encryption and naming of objects for one repository."""

    def __init__(self, keys: Keys | None, level: int = 1) -> None:
        self.keys = keys
        self.level = level
        self._local = threading.local()

    @property
    def encrypted(self) -> bool:
        return self.keys is not None

    def object_id(self, kind: str, *parts: bytes | memoryview) -> str:
        h = hmac.new(self.keys.mac, digestmod=hashlib.sha256) if self.keys else hashlib.sha256()
        h.update(kind.encode() + b"\0")
        for part in parts:
            h.update(part)
        return h.hexdigest()

    def mac(self, data: bytes) -> str:
        """Checksum of a manifest: HMAC under the key, else plain SHA-256."""
        if self.keys:
            return hmac.new(self.keys.mac, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()

    def _zstd(self):
        local = self._local
        if not hasattr(local, "c"):
            import zstandard

            local.c = zstandard.ZstdCompressor(level=self.level)
            local.d = zstandard.ZstdDecompressor()
        return local

    def encode(self, oid: str, plain: bytes | memoryview) -> bytes:
        payload = self._zstd().c.compress(plain)
        if not self.keys:
            return MAGIC + bytes([ZSTD]) + payload
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        sealed = AESGCM(self.keys.enc).encrypt(nonce, payload, oid.encode())
        return MAGIC + bytes([ZSTD | SEALED]) + nonce + sealed

    def decode(self, oid: str, stored: bytes) -> bytes:
        if len(stored) < 5 or stored[:4] != MAGIC:
            raise BackupDamaged(f"object {oid} is not a backup object (bad header)")
        flags = stored[4]
        payload: bytes | memoryview = memoryview(stored)[5:]
        if flags & SEALED:
            if not self.keys:
                raise BackupKeyError("this backup is encrypted: set MEMORY_BACKUP_KEY_FILE "
                                     "(or MEMORY_BACKUP_KEY) to the key it was made with")
            from cryptography.exceptions import InvalidTag
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            try:
                payload = AESGCM(self.keys.enc).decrypt(bytes(payload[:12]), bytes(payload[12:]),
                                                        oid.encode())
            except InvalidTag:
                raise BackupDamaged(f"object {oid} fails authentication (damaged, or "
                                    "another key)") from None
        try:
            return self._zstd().d.decompress(payload)
        except Exception as e:  # zstandard raises ZstdError; any failure is damage
            raise BackupDamaged(f"object {oid} cannot be decompressed: {e}") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
