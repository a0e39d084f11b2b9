"""Read a file line by line from a byte offset, read-only, hashing what is consumed.

Each complete line is consumed; an unterminated last line is left for a later run (the
session is still writing it). Lines longer than the limit are skipped in chunks, so a
huge line never has to fit in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_CHUNK = 1 << 20


@dataclass(slots=True)
class Line:
    no: int  # 1-based line number
    offset: int  # byte offset of the line's start
    data: bytes | None  # without the line ending; None when the line was too long
    size: int  # bytes of the line including its ending


class LineReader:
    def __init__(self, f, start_offset: int, start_line: int, hasher, max_len: int) -> None:
        self.f = f
        self.offset = start_offset  # end of the last consumed line
        self.line_no = start_line  # complete lines consumed
        self.hasher = hasher if hasher is not None else hashlib.sha256()
        self.max_len = max_len
        self.tail: bytes | None = None  # unterminated last line (not consumed)
        self.tail_too_long = False
        self.keep_before = False  # keep the hash state before each line (debug entries)
        self.hasher_before: Any = None

    def __iter__(self) -> Iterator[Line]:
        f, max_len = self.f, self.max_len
        # An earlier run may have consumed a last line that lacked only its newline: the
        # first bytes read now end that line, they do not start a new one.
        continued = self.offset > 0 and _byte_before(f, self.offset) != b"\n"
        f.seek(self.offset)
        readline, limit = f.readline, max_len + 1
        while True:
            data = readline(limit)
            if not data:
                return
            size = len(data)
            if data[-1] != 10:  # no newline: too long, or the end of the file
                if size > max_len:
                    yield from self._skip_long(data)
                    if self.tail_too_long:
                        return
                    continue
                self.tail = data  # EOF without newline
                return
            start = self.offset
            self.offset = start + size
            if self.keep_before:
                self.hasher_before = self.hasher.copy()
            self.hasher.update(data)
            text = data[:-2] if size > 1 and data[-2] == 13 else data[:-1]  # without \r\n or \n
            if continued:
                continued = False
                if text.strip():  # more text on that line: keep its number
                    yield Line(self.line_no, start, text, size)
                continue
            self.line_no += 1
            yield Line(self.line_no, start, text, size)

    def consume_tail(self) -> None:
        """Accept the unterminated last line as complete (it parsed as a whole record)."""
        if self.tail is not None:
            self.line_no += 1
            self.offset += len(self.tail)
            self.hasher.update(self.tail)
            self.tail = None

    def _skip_long(self, head: bytes) -> Iterator[Line]:
        start, size = self.offset, len(head)
        before = self.hasher.copy()  # restored if the line is still being written
        hasher = self.hasher
        hasher.update(head)
        while True:
            block = self.f.readline(_CHUNK)
            if not block:  # EOF inside an overlong line: leave it for a later run
                self.hasher = before
                self.tail_too_long = True
                return
            hasher.update(block)
            size += len(block)
            if block[-1:] == b"\n":
                break
        self.line_no += 1
        self.offset += size
        yield Line(self.line_no, start, None, size)


def _byte_before(f, offset: int) -> bytes:
    f.seek(offset - 1)
    return f.read(1)
