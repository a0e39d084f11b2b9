"""debug/<session>.txt: `2025-11-19T17:07:55.342Z [DEBUG] text` entries with continuation lines.

An entry is complete only when the next one starts, so the watermark stays at the start of
the last entry: a later run re-reads it and replaces it if it grew.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..hashing import uid
from ..timeutil import parse_ts
from .base import Issue, Record
from .jsonl import begin, finish
from .read_context import ReadContext

_HEAD = re.compile(
    rb"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)\s+"
    rb"(?:\[(DEBUG|INFO|WARN|WARNING|ERROR|TRACE|FATAL|debug|info|warn|warning|error)\]|"
    rb"(DEBUG|INFO|WARN|WARNING|ERROR|TRACE|FATAL))\s?"
)
_LEVEL = {"warning": "warn", "fatal": "error"}


def read_debug(ctx: ReadContext) -> Iterator[Record | Issue]:
    session = ctx.session_hint
    component_of = ctx.config.components
    with open(ctx.path, "rb") as f:
        lines = yield from begin(ctx, f)
        if lines is None:
            return
        lines.keep_before = True
        entry: list | None = None  # [line, offset, ts, level, header, [texts], hasher_before]
        bad_utf8 = False

        resumed_at = ctx.start_offset if ctx.start_offset else None

        def emit(e: list, last: bool) -> Record:
            text = "\n".join(e[5])
            level = e[3]
            # The entry we resumed at was the last one of the previous run: it may have
            # grown since, even if newer entries now follow it, so it is replaced too.
            return Record(
                uid=uid("debug", session, e[0], e[4], ts=e[2]), kind="debug", type="log", content=text,
                session_id=session, ts=e[2], line=e[0], offset=e[1], level=level,
                component=component_of(text), is_error=level == "error",
                replace=last or e[1] == resumed_at,
            )

        for line in lines:
            if line.data is None:
                yield Issue(f"line of {line.size / 1e6:.1f} MB exceeds the limit; skipped",
                            line=line.no, offset=line.offset)
                continue
            try:
                text = line.data.decode("utf-8")
            except UnicodeDecodeError:
                text = line.data.decode("utf-8", "replace")
                if not bad_utf8:
                    yield Issue("invalid UTF-8; stored with U+FFFD replacements",
                                line=line.no, offset=line.offset, severity="warning")
                    bad_utf8 = True
            m = _HEAD.match(line.data)
            if m:
                if entry is not None:
                    yield emit(entry, False)
                raw_level = (m.group(2) or m.group(3)).decode().lower()
                level = _LEVEL.get(raw_level, raw_level)
                header = text
                body = text[len(m.group(0).decode("utf-8", "replace")):]
                entry = [line.no, line.offset, parse_ts(m.group(1).decode()), level, header,
                         [body], lines.hasher_before]
            elif entry is None:
                entry = [line.no, line.offset, ctx.state.get("last_ts"), None, text, [text],
                         lines.hasher_before]
            else:
                entry[5].append(text)
        if lines.tail is not None and entry is not None and not _HEAD.match(lines.tail):
            pass  # a continuation still being written: part of the last entry, read later
        finish(ctx, lines)
        if entry is not None:
            yield emit(entry, True)
            if entry[2] is not None:
                ctx.state["last_ts"] = entry[2]
            # resume at the start of the last entry: it may still grow
            ctx.end.offset = entry[1]
            ctx.end.lines = entry[0] - 1
            ctx.end.prefix_sha256 = entry[6].hexdigest()
