"""Verbatim metadata kept small: zstd with a dictionary trained per source kind.

A row's `metadata` is the JSON of the fields no column holds. Rows of one kind repeat the
same keys and values (cwd, version, branch, model, usage shapes), so a dictionary trained on
a kind's first rows compresses each row ~5.5x where zstd alone gets ~2.2x (benchmarks/
RESULTS.md, issue 18). The compressed bytes go to `messages.metadata_z` (then `metadata` is
NULL); each zstd frame names its dictionary (`metadata_dicts.id`). A run's first
`TRAIN_ROWS` rows of a kind, and kinds SQL reads fields of (file history's `file_key`), stay
plain text, so every reader goes through `MetaCodec.text`.

A message's text is packed the same way (migration 0022) when at least `CONTENT_MIN`
characters long: it goes to `messages.content_z` with `content` NULL, with a dictionary
trained per type on its first `CONTENT_TRAIN_ROWS` rows (tool results ~6x, tool calls ~4.5x
where zstd alone gets ~2.5x). What SQL reads raw stays plain: user lines (prompts), history
lines, titles and summaries (derivation, reports). Errors pack too since migration 0025 (their
report excerpts read `CONTENT`; 0022 kept them plain for the backfill of migration 7, which
runs only on stores older than any packed row).
Every other SQL reader of `content` goes through `CONTENT` (`content_unpack`, a function
each SQLite connection has); PostgreSQL keeps content plain (TOAST compresses it) and its
dialect reads `content_unpack(...)` as NULL.

A blob (a file version, an image: content-addressed, stored once) is kept as zstd when that
is smaller (migration 0025: file versions ~2.5x); `blobs.size` is the original's length, so
a blob shorter than its size is packed. Readers read `blob_sql()` (`blob_unpack`, a function
on each connection; PostgreSQL keeps blobs plain and its dialect reads the column). A
message's uid is kept as its 16 bytes the same way (`uid_sql`, `uid_key`; migration 0025).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import zstandard

from ...derive.titles import TITLE_TYPES
from ...hashing import content_hash

PLAIN_KINDS = frozenset({"file_history"})  # SQL reads json_extract(metadata, '$.file_key')
TRAIN_ROWS = 4000  # samples a kind's dictionary is trained on (~0.2 s once)
DICT_BYTES = 64 << 10
LEVEL = 3  # ~4 µs a row; higher levels gain little on ~1 KB rows
PLAIN_TYPES = frozenset({"user", *TITLE_TYPES})  # content SQL reads raw (see above)
PLAIN_SOURCES = frozenset({"history"})  # derivation links history lines by their text
CONTENT_MIN = 32  # a 32-64 character log line still packs ~1.7x with its type's dictionary
CONTENT_KIND = "content/"  # + the row's type: the key of its dictionary in metadata_dicts
CONTENT_TRAIN_ROWS = 1000  # 1,000 samples train within 3% of 4,000's ratio
SAMPLE_MAX = 64 << 10  # a longer text teaches a 64 KB dictionary little: not kept as a sample


def content_sql(prefix: str = "m.") -> str:
    """A message's text in SQL, whichever way it was stored (`prefix`: the table's alias)."""
    return f"coalesce({prefix}content, content_unpack({prefix}content_z))"


CONTENT = content_sql()


def hash_sql(prefix: str = "m.") -> str:
    """A message's content hash in SQL. SQLite stores none for a row whose text it keeps
    (migration 0024: it is the text's SHA-256, 64 bytes a row); `content_sha` recomputes it."""
    return (f"coalesce({prefix}content_hash, content_sha({prefix}content, {prefix}content_z))")


HASH = hash_sql()


def blob_sql(prefix: str = "b.") -> str:
    """A blob's bytes in SQL, whichever way it was stored (`prefix`: the blobs table's alias)."""
    return f"blob_unpack({prefix}data, {prefix}size)"


def pack_blob(data: bytes) -> bytes:
    """What SQLite stores in `blobs.data`: zstd when shorter, else the bytes themselves."""
    if len(data) < CONTENT_MIN:
        return data
    packed = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False).compress(data)
    return packed if len(packed) < len(data) else data


def unpack_blob(data: bytes | None, size: int | None) -> bytes | None:
    """pack_blob undone: a blob shorter than its recorded size is packed. Also SQL's
    `blob_unpack`."""
    if data is None or size is None or len(data) >= size:
        return data
    return zstandard.ZstdDecompressor().decompress(bytes(data), max_output_size=size)


def uuid_sql(column: str) -> str:
    """A transcript uuid column in SQL as its text. SQLite stores a canonical uuid as its 16
    bytes (migration 0024: 37 bytes a row less for `ext_id` and `parent_ext_id` each); the
    text comes back in C, no Python call per row."""
    h = f"hex({column})"
    return (f"CASE WHEN typeof({column}) = 'blob' THEN lower(substr({h}, 1, 8) || '-' || substr({h}, 9, 4)"
            f" || '-' || substr({h}, 13, 4) || '-' || substr({h}, 17, 4) || '-' || substr({h}, 21))"
            f" ELSE {column} END")


def uid_sql(column: str) -> str:
    """A message's `uid` in SQL as its text. SQLite stores a uid of 32 lowercase hex digits
    (every one ingest makes) as its 16 bytes (migration 0025: the column and its unique index
    ~40% smaller); the text comes back in C. PostgreSQL's dialect reads the column."""
    return f"CASE WHEN typeof({column}) = 'blob' THEN lower(hex({column})) ELSE {column} END"


def uid_key(text: str | None) -> str | bytes | None:
    """How SQLite stores a uid: 32 lowercase hex digits as their 16 bytes (uid_sql gives the
    text back), anything else (an imported uid of another form) as it is. Also SQL's
    `uid_bytes`; look-ups by uid pass their arguments through it."""
    if text is None or len(text) != 32:
        return text
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return text
    return raw if raw.hex() == text else text  # not so: spaces (fromhex skips them), capitals


def keys_in(to_key: str, n: int) -> str:
    """The list of an `IN (...)` look-up of `n` values given as text, each made the form
    SQLite stores by the SQL function `to_key` (the index is searched for each value;
    PostgreSQL's dialect reads `?`)."""
    return ", ".join([f"{to_key}(?)"] * n)


uid_in = partial(keys_in, "uid_bytes")  # uids (0025)
sid_in = partial(keys_in, "uuid_bytes")  # messages' and api_usage's session ids (0027, 0028)


def uid_text(value: str | bytes | None) -> str | None:
    """uid_sql in Python: a stored uid as its text."""
    return bytes(value).hex() if isinstance(value, (bytes, memoryview)) else value


def uuid_key(text: str | None) -> str | bytes | None:
    """How SQLite stores a uuid column: a lowercase canonical uuid as its 16 bytes (uuid_sql
    gives the same text back), anything else as it is. Also SQL's `uuid_bytes`."""
    if text is None or len(text) != 36 or text[8] != "-" or text[13] != "-" or text[18] != "-" \
            or text[23] != "-" or text != text.lower():
        return text
    try:
        raw = bytes.fromhex(text.replace("-", ""))
    except ValueError:
        return text
    return raw if len(raw) == 16 else text


def sid_sql(column: str) -> str:
    """A message's (or an api_usage row's) `session_id` in SQL as its text. SQLite stores a
    canonical uuid as its 16 bytes (migrations 0027, 0028, as uuid_key); `uuid_str`, a
    function on every connection, makes the text and keeps the last one: rows come session by
    session, so a read of every row costs ~0.1 µs a row where uuid_sql's string work takes
    ~1.5. PostgreSQL's dialect reads the column."""
    return f"uuid_str({column})"


SID = sid_sql("m.session_id")


def uuid_text(value: str | bytes | None) -> str | None:
    """uuid_sql in Python: a stored uuid column as its text."""
    return str(uuid.UUID(bytes=bytes(value))) if isinstance(value, (bytes, memoryview)) else value


class MetaCodec:
    """Packs metadata on the write path and unpacks it on reads. One per store object (its
    dictionaries are loaded once); safe to read from several threads."""

    def __init__(self) -> None:
        self._loaded = False
        self._packers: dict[str, tuple[int, zstandard.ZstdCompressor]] = {}
        self._readers: dict[int, zstandard.ZstdDecompressor] = {}
        self._samples: dict[str, list[bytes | bytearray | memoryview]] = {}
        # trained by this process: written with every batch that may use them, so a batch
        # rolled back (and its dictionary with it) cannot leave rows no dictionary reads
        self._fresh: list[tuple[int, str, int, bytes]] = []
        self._lock = threading.Lock()

    def _load(self, db: Any) -> None:
        for did, kind, data in db.execute(
                "SELECT id, source_kind, data FROM metadata_dicts ORDER BY id").fetchall():
            self._add(int(did), kind, bytes(data))
        self._loaded = True

    def _add(self, did: int, kind: str, data: bytes) -> None:
        zdict = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
        self._packers[kind] = (did, zstandard.ZstdCompressor(
            level=LEVEL, dict_data=zdict, write_checksum=False, write_content_size=True))
        self._readers[did] = zstandard.ZstdDecompressor(dict_data=zdict)

    def pack(self, db: Any, kind: str, text: str | None) -> tuple[str | None, bytes | None]:
        """(metadata, metadata_z) of a row about to be written."""
        if text is None or kind in PLAIN_KINDS:
            return text, None
        if not self._loaded:
            self._load(db)
        packer = self._packers.get(kind)
        raw = text.encode("utf-8", "surrogatepass")
        if packer is None:
            if len(raw) <= SAMPLE_MAX:
                self._sample(db, kind, raw)
            return text, None
        packed = packer[1].compress(raw)
        return (None, packed) if len(packed) < len(raw) else (text, None)

    def _sample(self, db: Any, kind: str, raw: bytes) -> None:
        samples = self._samples.setdefault(kind, [])
        samples.append(raw)
        if len(samples) < (CONTENT_TRAIN_ROWS if kind.startswith(CONTENT_KIND) else TRAIN_ROWS):
            return
        del self._samples[kind]
        did = 1 + max([0, *self._readers], key=int)
        row = db.execute("SELECT max(id) FROM metadata_dicts").fetchone()
        did = max(did, 1 + int(row[0] or 0))
        try:
            zdict = zstandard.train_dictionary(DICT_BYTES, samples, dict_id=did, level=LEVEL)
        except zstandard.ZstdError:
            return  # too little variety to learn from: this kind stays plain
        data = zdict.as_bytes()
        self._add(did, kind, data)
        self._fresh.append((did, kind, int(time.time() * 1000), data))

    def save(self, db: Any) -> None:
        """The dictionaries this process trained, in the transaction of the rows using them."""
        if self._fresh:
            db.executemany("INSERT INTO metadata_dicts (id, source_kind, created_at, data)"
                           " VALUES (?, ?, ?, ?) ON CONFLICT(id) DO NOTHING", self._fresh)

    def pack_content(self, db: Any, kind: str, type_: str,
                     text: str | None) -> tuple[str | None, bytes | None]:
        """(content, content_z) of a row about to be written (errors pack like the rest since
        0025)."""
        if (text is None or len(text) < CONTENT_MIN or type_ in PLAIN_TYPES
                or kind in PLAIN_SOURCES):
            return text, None
        return self.pack(db, CONTENT_KIND + type_, text)

    def text(self, db: Any, metadata: str | None, packed: bytes | None) -> str | None:
        """A row's metadata JSON (or packed content), whichever way it was stored."""
        if packed is None:
            return metadata
        return self._unpack(db, bytes(packed))

    def content_reader(self, db: Any) -> Callable[[bytes], str]:
        """`text` of a packed `content_z` read raw, for reads of every row (the keyword
        index's, search.py `_lean_rows`): one plain call a row (`text` took 0.3 s more over
        c150's 228k packed rows)."""
        return partial(self._unpack, db)

    def _unpack(self, db: Any, data: bytes) -> str:
        did = zstandard.get_frame_parameters(data).dict_id
        with self._lock:
            reader = self._readers.get(did)
            if reader is None:  # trained after this object loaded (another process)
                self._load(db)
                reader = self._readers[did]
            return reader.decompress(data).decode("utf-8", "surrogatepass")


def sql_functions(conn: Any, codec: MetaCodec | None = None) -> None:
    """Give a connection to a SQLite store what CONTENT and HASH call (every connection that
    reads texts or hashes, or writes messages: the backup triggers read HASH)."""
    unpack = (codec or MetaCodec()).text
    last: list[Any] = [None, None]  # a SELECT of CONTENT and HASH unpacks its row once

    def text(content: str | None, packed: bytes | None) -> str | None:
        if content is not None or packed is None:
            return content
        if packed != last[0]:
            last[:] = packed, unpack(conn, None, packed)
        return last[1]

    conn.create_function("content_unpack", 1, lambda z: text(None, z), deterministic=True)
    conn.create_function("content_sha", 2, lambda c, z: content_hash(text(c, z)), deterministic=True)
    conn.create_function("uuid_bytes", 1, uuid_key, deterministic=True)
    made: list[Any] = [None, None]  # sid_sql: the last session id made

    def uuid_str(value: str | bytes | None) -> str | None:
        if value != made[0]:
            made[:] = value, uuid_text(value)
        return made[1]

    conn.create_function("uuid_str", 1, uuid_str, deterministic=True)
    conn.create_function("uid_bytes", 1, uid_key, deterministic=True)
    conn.create_function("blob_unpack", 2, unpack_blob, deterministic=True)

