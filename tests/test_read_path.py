"""The ingest read path's shortcuts give what the plain code gave: the session of lines
without a sessionId found past a long first line, timestamps of every form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coditect_memory.settings import load_settings
from coditect_memory.sources.base import Record
from coditect_memory.sources.read_context import ReadContext
from coditect_memory.sources.transcript import read_transcript
from coditect_memory.timeutil import parse_ts


@pytest.mark.parametrize("pad", [10, 16_380, 40_000, 300_000])
def test_a_line_without_session_takes_the_first_one_named(tmp_path: Path, memory_home, pad):
    """The first sessionId of the file's first 256 KB, however far the first 16 KB reach."""
    first = {"type": "summary", "summary": "x" * pad, "leafUuid": "l1"}
    named = {"type": "user", "uuid": "u1", "sessionId": "s-named", "timestamp": "2025-11-19T17:07:55.342Z",
             "message": {"role": "user", "content": "hi"}}
    hint = "0b8f3c2e-1d2b-4c5e-9f00-123456789abc"
    path = tmp_path / f"{hint}.jsonl"
    path.write_text(json.dumps(first) + "\n" + json.dumps(named) + "\n")
    ctx = ReadContext(path=path, relpath=path.name, size=path.stat().st_size, config=load_settings())
    records = [r for r in read_transcript(ctx) if isinstance(r, Record)]
    want = "s-named" if pad < 250_000 else hint  # named past 256 KB: the file's name
    assert [r.session_id for r in records] == [want, "s-named"]


@pytest.mark.parametrize("value, want", [
    ("2025-11-19T17:07:55.342Z", int(datetime(2025, 11, 19, 17, 7, 55, 342000, UTC).timestamp() * 1000)),
    ("2025-11-19T17:07:55", int(datetime(2025, 11, 19, 17, 7, 55, tzinfo=UTC).timestamp() * 1000)),
    ("2025-11-19T18:07:55+01:00", int(datetime(2025, 11, 19, 17, 7, 55, tzinfo=UTC).timestamp() * 1000)),
    ("", None), ("soon", None), ("9999-12-31T23:59:59.999Z", 253402300799999),
    (None, None), (True, None), (1732036075, 1732036075000), (1732036075342, 1732036075342),
    (1.5, 1500), (float("nan"), None), (1e30, None), ([], None), ({"t": 1}, None), (b"2025", None),
])
def test_timestamps_of_every_form(value, want):
    assert parse_ts(value) == want
