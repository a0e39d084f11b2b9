"""The line-file driver shared by the readers (JSON Lines, debug logs): read-only, resumable,
located errors; and the read loop of every JSONL reader (`read_objects`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

import orjson

from .base import Issue, Record, loads_lenient
from .lines import LineReader
from .read_context import ReadContext

_SNIFF = 8192


def _looks_binary(head: bytes) -> bool:
    """NUL bytes in a file that does not start like our text: an image, archive, database.

    A text file with NUL-damaged lines (a crash can leave zeroed blocks, even at its start)
    is still read line by line, so its good lines are kept and the damaged regions reported.
    """
    if b"\x00" not in head:
        return False
    # a zeroed block ahead of the text is damage, not a format: judge by what follows it
    start = head.lstrip(b"\x00\xef\xbb\xbf \t\r\n")[:1]
    return start not in b"{[0123456789"  # a JSON line, a timestamped log line, or all zeros


def _skip_whole(ctx: ReadContext, f) -> None:
    """Mark a skipped file as read to its end, with its checksum, so an unchanged copy is not
    read (and reported) again; with no prefix hash, a changed one is read from the start."""
    f.seek(0)
    h = hashlib.sha256()
    size = 0
    while block := f.read(1 << 20):
        h.update(block)
        size += len(block)
    ctx.end.offset = size
    ctx.end.sha256 = h.hexdigest()
    ctx.end.prefix_sha256 = None


def begin(ctx: ReadContext, f) -> Generator[Issue, None, LineReader | None]:
    """Start reading `f` at the watermark: yields the file's own Issues (not text, or empty)
    and returns its LineReader, or None when it is not read (`lines = yield from begin(...)`)."""
    if ctx.start_offset == 0:
        head = f.read(_SNIFF)
        if _looks_binary(head):
            _skip_whole(ctx, f)
            yield Issue("binary file (NUL bytes): not a text/JSONL file; skipped", line=1, offset=0)
            return None
    if ctx.size == 0:
        yield Issue("empty file (0 bytes): nothing to read", severity="warning")
    return LineReader(f, ctx.start_offset, ctx.start_line, ctx.hasher, ctx.config.ingest.max_line_bytes)


def finish(ctx: ReadContext, lines: LineReader) -> None:
    ctx.end.offset = lines.offset
    ctx.end.lines = lines.line_no
    ctx.end.prefix_sha256 = ctx.end.sha256 = lines.hasher.hexdigest()
    ctx.end.partial_tail = lines.tail is not None or lines.tail_too_long


def iter_json(ctx: ReadContext) -> Iterator[tuple[int, int, Any] | Issue]:
    """Yield (line number, byte offset, parsed object) for each good line, Issue for bad ones.

    A last line without a newline is consumed only if it parses (a file that simply lacks
    its final newline); otherwise it is a line still being written, left for a later run.
    """
    with open(ctx.path, "rb") as f:
        lines = yield from begin(ctx, f)
        if lines is None:
            return
        limit_mb = ctx.config.ingest.max_line_bytes >> 20
        damaged: list[int] = []  # a run of NUL-damaged lines: first no, offset, last no, end
        loads = orjson.loads
        for line in lines:
            data = line.data
            if data is not None and data[:1] == b"{" and not damaged:
                try:  # the line Claude Code writes: one C call, the checks below only if it fails
                    yield line.no, line.offset, loads(data)
                    continue
                except orjson.JSONDecodeError:
                    pass
            if data is not None and b"\x00" in data:
                if damaged:
                    damaged[2:] = [line.no, line.offset + line.size]
                else:
                    damaged = [line.no, line.offset, line.no, line.offset + line.size]
                continue
            if data is not None and not data.strip():
                continue  # a blank line, even inside a damaged region
            if damaged:
                yield _nul_region(*damaged)
                damaged = []
            if data is None:
                yield Issue(
                    f"line of {line.size / 1e6:.1f} MB exceeds the {limit_mb} MiB limit"
                    " (raise ingest.max_line_mb in config.toml to store it); skipped",
                    line=line.no, offset=line.offset,
                )
                continue
            try:
                obj, note = loads_lenient(data)
            except ValueError as e:
                yield Issue(f"{e}; line skipped", line=line.no, offset=line.offset)
                continue
            if note:
                yield Issue(note, line=line.no, offset=line.offset, severity="warning")
            yield line.no, line.offset, obj
        if lines.tail is not None and b"\x00" in lines.tail:  # zeros to the end: damage too
            no, off, end = lines.line_no + 1, lines.offset, lines.offset + len(lines.tail)
            lines.consume_tail()
            damaged = [*damaged[:2], no, end] if damaged else [no, off, no, end]
        if damaged:
            yield _nul_region(*damaged)
        if lines.tail is not None and lines.tail.strip():
            try:
                obj, note = loads_lenient(lines.tail)
            except ValueError:
                obj = None  # still being written: read on a later run
            if obj is not None:
                no, off = lines.line_no + 1, lines.offset
                lines.consume_tail()
                if note:
                    yield Issue(note, line=no, offset=off, severity="warning")
                yield no, off, obj
        finish(ctx, lines)


def _nul_region(first: int, offset: int, last: int, end: int) -> Issue:
    """One error for a run of lines holding NUL bytes (zeroed by a crash), by line range."""
    lines = f"line {first}" if first == last else f"lines {first}-{last}"
    return Issue(f"NUL-damaged region (zeroed bytes, e.g. left by a crash): {lines}, bytes "
                 f"{offset}-{end}; skipped, the lines around it are stored", line=first, offset=offset)


LineParser = Callable[[dict[str, Any], int, int], Iterable[Record | Issue]]


def read_objects(ctx: ReadContext, parse: LineParser) -> Iterator[Record | Issue]:
    """The read loop of every JSONL reader: each line's JSON object goes through
    `parse(obj, line number, byte offset)`; bad lines, and lines that hold something other
    than an object, come out as Issues."""
    for item in iter_json(ctx):
        if isinstance(item, Issue):
            yield item
            continue
        no, offset, obj = item
        if not isinstance(obj, dict):
            yield Issue(f"not a JSON object ({type(obj).__name__}); line skipped", no, offset)
            continue
        yield from parse(obj, no, offset)
