"""A sync batch is a `memory export` batch: the same JSON Lines (transfer/export.py, with
its checks and trailer), zstd-compressed on the wire, read back by the export reader
(sources/export.py) into the ingest pipeline. Rows leave a store as the team may see them
(privacy/levels.py: PRIVATE and EPHEMERAL never, PII masked by level)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import zstandard

from ..errors import UsageError
from ..privacy.detect import Finding
from ..privacy.levels import TEAM, TEAM_AUDIENCE, Levels, PiiRedactor, export_rows, visible
from ..privacy.mask import load_key
from ..settings import Settings
from ..sources.base import Issue, Record
from ..sources.export import read_lines
from ..store.base import Store
from ..transfer.export import write_jsonl

MAX_BATCH_BYTES = 1 << 30  # a batch's JSON Lines, uncompressed: refused beyond


def encode(rows: Iterable[dict[str, Any]]) -> tuple[bytes, int]:
    """(zstd-compressed JSON Lines with a trailer, how many messages)."""
    buf = io.BytesIO()
    n = write_jsonl(iter(rows), buf)
    return zstandard.ZstdCompressor(level=3).compress(buf.getvalue()), n


def decode(data: bytes) -> Iterator[Record | Issue]:
    """A batch's records (and Issues for damaged lines, or a batch cut short)."""
    try:
        raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=MAX_BATCH_BYTES)
    except zstandard.ZstdError as e:
        raise UsageError(f"the sync batch is not valid zstd ({e}); send it again") from None
    return read_lines(raw)


class LazyPii(PiiRedactor):
    """A PiiRedactor made on first use: a push or pull with nothing to redact (nothing new,
    or only levels that need no masking) never reads the key or compiles the detector."""

    def __init__(self, settings: Settings, readonly: bool) -> None:  # no super(): made later
        self._settings, self._readonly = settings, readonly
        self._real: PiiRedactor | None = None

    def _get(self) -> PiiRedactor:
        if self._real is None:
            key = load_key(self._settings.home, create=not self._readonly) or b"\0" * 32
            self._real = PiiRedactor(key, self._settings.privacy.rules)
        return self._real

    def redact(self, text: str, which: str) -> str:
        return self._get().redact(text, which)

    def findings(self, text: str) -> list[Finding]:
        return self._get().findings(text)


class TeamView:
    """The rows of a store as a team member may have them: one per push or pull (the levels
    are read and the PII detector made once, on first need)."""

    def __init__(self, store: Store, settings: Settings, server: bool = False) -> None:
        self.store, self.settings, self.server = store, settings, server
        self.pii: PiiRedactor = LazyPii(settings, store.readonly)
        self.projects: dict[str, str | None] = {}
        self._levels: Levels | None = None

    @property
    def levels(self) -> Levels:
        if self._levels is None:
            self._levels = Levels.load(self.settings.privacy, self.store.privacy_levels())
            if self.server and not visible(self._levels.default, TEAM_AUDIENCE):
                # A row pushed to a team server was judged shareable by its machine: where the
                # server sets no level of its own, it is TEAM (PRIVATE would serve nothing).
                self._levels.default = TEAM
        return self._levels

    def levels_digest(self) -> int:
        """The levels as a number a store keeps (63 bits): equal digests judge rows alike."""
        lv = self.levels
        raw = orjson.dumps([lv.default, sorted(lv.projects.items()), sorted(lv.sessions.items())])
        return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big") >> 1

    def _project_of(self, session_id: str) -> str | None:
        if session_id not in self.projects:
            session = self.store.session(session_id)
            self.projects[session_id] = session["project"] if session else None
        return self.projects[session_id]

    def rows(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return list(export_rows(iter(rows), self.levels, self.pii, TEAM_AUDIENCE, self._project_of))
