"""Identity and content hashes.

A uid is the first 128 bits of SHA-256 over the fields that make a record unique, joined by
a separator no field contains. Content hashes are kept apart from identity: two messages with
equal text are still two messages.
"""

from __future__ import annotations

import hashlib

_SEP = "\x1f"


def uid(*parts: object, ts: int | None = None) -> str:
    """32 hex: the record's own time in seconds (8 hex, zeros when it has none), then 96 bits
    of the hash. The time prefix keeps the store's uid index growing at its end like the data,
    instead of touching a random page per row (ingest speed, incremental backup size)."""
    return keyed_uid(uid_key(*parts), ts_prefix(ts))


def uid_key(*parts: object) -> str:
    """The text a uid hashes. A reader making several uids that share their first parts
    (one per content block of a line) builds `uid_key(*first) + UID_SEP` once and appends
    each last part: the same text, so the same uid as `uid(*first, last)`."""
    return _SEP.join(["" if p is None else str(p) for p in parts])


UID_SEP = _SEP


def ts_prefix(ts: int | None) -> str:
    """A uid's first 8 hex: its time in seconds (made once per line by a reader that makes
    several uids of one time)."""
    return "%08x" % ((ts // 1000) & 0xFFFFFFFF) if isinstance(ts, int) and ts > 0 else "00000000"


def keyed_uid(key: str, prefix: str) -> str:
    """The uid of the text `uid_key` made, behind its time prefix (`ts_prefix`)."""
    return prefix + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def content_hash(text: str | bytes | None) -> str | None:
    if text is None:
        return None
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_prefix(path: str, length: int, chunk: int = 1 << 20) -> str:
    """SHA-256 of the first `length` bytes: proves a consumed prefix is unchanged."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = length
        while left > 0:
            block = f.read(min(chunk, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    return h.hexdigest()
