"""Page maps: the SHA-256 of every page of a snapshot, which is how an incremental finds the
pages that changed since its parent.

A full backup stores the whole map; an incremental stores only its changed entries, and a
chain's map is rebuilt by applying them in order.

    full:        b"PMF1" + page_count(u32) + page_count * 32-byte digests
    incremental: b"PMD1" + page_count(u32) + n(u32) + n * pgno(u32) + n * 32-byte digests
"""

from __future__ import annotations

import hashlib
import struct

from .errors import BackupDamaged

HASH = 32


def page_hashes(data: bytes, page_size: int) -> bytes:
    """The digests of the pages in `data`, concatenated (hashlib releases the GIL here)."""
    mv = memoryview(data)
    sha = hashlib.sha256
    return b"".join([sha(mv[i:i + page_size]).digest() for i in range(0, len(data), page_size)])


def encode_full(page_count: int, hashes: bytes | bytearray) -> bytes:
    return b"PMF1" + struct.pack("<I", page_count) + bytes(hashes)


def encode_delta(page_count: int, pgnos: list[int], hashes: list[bytes]) -> bytes:
    return (b"PMD1" + struct.pack("<II", page_count, len(pgnos))
            + struct.pack(f"<{len(pgnos)}I", *pgnos) + b"".join(hashes))


def apply(current: bytearray | None, blob: bytes, oid: str) -> bytearray:
    """The page map after this backup: a full map, or `current` updated by a delta."""
    magic = blob[:4]
    if magic == b"PMF1":
        (count,) = struct.unpack_from("<I", blob, 4)
        if len(blob) != 8 + count * HASH:
            raise BackupDamaged(f"page map {oid} has the wrong length")
        return bytearray(blob[8:])
    if magic != b"PMD1" or current is None:
        raise BackupDamaged(f"page map {oid} is not a page map of this chain")
    count, n = struct.unpack_from("<II", blob, 4)
    if len(blob) != 12 + n * 4 + n * HASH:
        raise BackupDamaged(f"page map {oid} has the wrong length")
    pgnos = struct.unpack_from(f"<{n}I", blob, 12)
    base = 12 + n * 4
    out = current[:count * HASH]
    if len(out) < count * HASH:
        out.extend(b"\0" * (count * HASH - len(out)))
    for i, pgno in enumerate(pgnos):
        if not 1 <= pgno <= count:
            raise BackupDamaged(f"page map {oid} names page {pgno} beyond the end ({count})")
        out[(pgno - 1) * HASH:pgno * HASH] = blob[base + i * HASH:base + (i + 1) * HASH]
    return out


def encode_pages(pgnos: list[int], pages: list[bytes]) -> bytes:
    """A delta object: the changed pages and where they go."""
    return b"DPG1" + struct.pack(f"<I{len(pgnos)}I", len(pgnos), *pgnos) + b"".join(pages)


def decode_pages(blob: bytes, page_size: int, oid: str) -> tuple[tuple[int, ...], memoryview]:
    if blob[:4] != b"DPG1":
        raise BackupDamaged(f"object {oid} is not a page delta")
    (n,) = struct.unpack_from("<I", blob, 4)
    pgnos = struct.unpack_from(f"<{n}I", blob, 8)
    data = memoryview(blob)[8 + 4 * n:]
    if len(data) != n * page_size:
        raise BackupDamaged(f"page delta {oid} has the wrong length")
    return pgnos, data
