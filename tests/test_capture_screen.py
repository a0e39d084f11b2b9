"""Ingest's privacy screen: a record's text and metadata screened in one scan give exactly
the records that screening each apart gave (masks, metadata, counts), and the metadata's
JSON kept for the store is what the store would have written."""

from __future__ import annotations

import copy
import json
import re

import orjson
import pytest

from coditect_memory.privacy.capture import CaptureMasker, json_unescaped, orjson_unescaped
from coditect_memory.privacy.detect import SECRET, Detector, _anchored, parse_rule, shipped_rules
from coditect_memory.privacy.mask import Masker
from coditect_memory.sources.base import Record
from coditect_memory.sources.text import compact_json

from .privacy.corpus import secrets

KEY = b"k" * 32


def _masker(extra: list[dict] | None = None, joined: bool = True) -> CaptureMasker:
    rules = [parse_rule(r) for r in [*(extra or []), *shipped_rules()]]
    detector = Detector([r for r in rules if r.kind == SECRET])
    if not joined:
        detector._joinable = False  # the screens of each part apart, as before
    return CaptureMasker(Masker(detector, KEY))


def _records() -> list[Record]:
    """Every place a secret can be, and records with none (most of them)."""
    out = []
    for i, item in enumerate(secrets()):
        where = i % 5
        out.append(Record(
            uid=f"u{i}", kind="transcript", type="tool_result",
            content=("output:\n" + item.text) if where in (0, 2) else "nothing here, key: none",
            metadata=({"toolUseResult": {"stdout": item.text, "lines": [item.text, 3]}}
                      if where in (1, 2) else {"cwd": "/home/dev/p", "n": i}),
            facts={"git_branch": item.text} if where == 3 else None,
            blob=item.text.encode() if where == 4 else None))
    out.append(Record(uid="plain", kind="transcript", type="user", content="hello there",
                      metadata={"version": "2.0.28", "nested": {"a": [1, "b"]}}))
    out.append(Record(uid="text-only", kind="debug", type="log", content="a plain line"))
    # the metadata's JSON screens as a credential ("key":"0b53..."), none of its strings does
    out.append(Record(uid="file-key", kind="file_history", type="file_version", content="x = 1",
                      metadata={"file_key": "0b5306f9872472dc", "version": 1}))
    out.append(Record(uid="meta-only", kind="transcript", type="system", content="",
                      metadata={"subtype": "turn_duration", "durationMs": 12}))
    out.append(Record(uid="deep", kind="transcript", type="user", content="x",
                      metadata={"k": [[[[1]]]] * 3, 7: "a non-string key"}))
    return out


def _masked(masker: CaptureMasker) -> list[Record]:
    records = copy.deepcopy(_records())
    for rec in records:
        masker.record(rec)
    return records


@pytest.mark.parametrize("extra", [None, [{"id": "anchored", "regex": r"^ticket-\d+",
                                          "screen": r"^ticket-\d+"}]],
                         ids=["shipped rules", "an anchored rule of the user's"])
def test_one_scan_masks_exactly_as_a_scan_per_part(extra):
    joined, apart = _masker(extra), _masker(extra, joined=False)
    assert joined.detector.joinable is (extra is None)
    got, want = _masked(joined), _masked(apart)
    for a, b in zip(got, want, strict=True):
        assert (a.content, a.metadata, a.blob, a.facts) == (b.content, b.metadata, b.blob, b.facts), a.uid
    assert joined.masked == apart.masked == 15  # 19 secrets, 4 of them in session facts only
    assert any("…#" in (r.content or "") for r in got)
    assert any("…#" in orjson.dumps(r.metadata).decode() for r in got if r.uid.startswith("u"))


def test_the_kept_metadata_json_is_what_the_store_writes():
    records = _masked(_masker())
    kept = [r for r in records if r.metadata_json is not None]
    assert {r.uid for r in kept} >= {"plain", "meta-only"}
    for rec in kept:
        assert "…#" not in rec.metadata_json.decode()  # none kept for a record that was masked
        assert rec.metadata_json.decode() == compact_json(rec.metadata)
    assert next(r for r in records if r.uid == "deep").metadata_json is None  # a non-string key


@pytest.mark.parametrize("pattern, anchored", [
    (r"sk\-ant\-", False), (r"[^\n\"',{}]{0,24}", False), (r"[]^]x", False), (r"a\^b\$", False),
    (r"^ticket", True), (r"id$", True), (r"\Afoo", True), (r"x\z", True), (r"(?:a|^b)", True),
    (r"[^a]^", True),
])
def test_anchors_are_told_from_classes_and_escapes(pattern, anchored):
    assert _anchored(pattern) is anchored


def test_metadata_whose_json_alone_screens_is_not_walked(monkeypatch):
    masker = _masker()
    rec = next(r for r in _records() if r.uid == "file-key")
    assert masker.screens_json(orjson.dumps(rec.metadata))  # its JSON matches a screen across key and value
    walked: list[object] = []
    monkeypatch.setattr(masker, "walk", lambda meta: walked.append(meta) or meta)
    masker.record(rec)
    assert walked == [] and rec.metadata == {"file_key": "0b5306f9872472dc", "version": 1}


@pytest.mark.parametrize("joined", [True, False], ids=["one scan", "a scan per part"])
def test_a_secret_whose_surroundings_json_escapes_is_masked_in_metadata(joined):
    # `=` then a tab, then a quote: the JSON holds `=\t\"`, which the rule's screen
    # (`\s{0,3}["']?` after the `=`) did not match, so the value was kept in the clear
    key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    value = f'export aws_secret_access_key=\t"{key}"\nls'
    rec = Record(uid="t", kind="transcript", type="tool_use", content="ran a command",
                 metadata={"input": {"command": value}})
    masker = _masker(joined=joined)
    masker.record(rec)
    command = rec.metadata["input"]["command"]
    assert key not in command and command.startswith("export aws_secret_access_key=\t")
    assert masker.masked == 1


@pytest.mark.parametrize("joined", [True, False], ids=["one scan", "a scan per part"])
@pytest.mark.parametrize("said", [
    # a form feed before `=`: the metadata's JSON holds `\\f`, which the screens read as
    # two characters, so the value was kept in the clear there (not in the text)
    'aws_secret_access_key\f="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"',
    # `:=` then a space: the rule matches it, its screen did not (kept in the clear anywhere)
    "password := abc12345xyz"])
def test_a_secret_after_a_control_character_or_colon_equals_is_masked(joined, said):
    value = said.rsplit("=", 1)[1].strip(' "')
    masker = _masker(joined=joined)
    for rec in (Record(uid="m", kind="transcript", type="tool_use", content="ran a command",
                       metadata={"input": {"command": f"export {said}"}}),
                Record(uid="t", kind="transcript", type="user", content=f"use {said} here")):
        masker.record(rec)
        assert value not in rec.content and value not in orjson.dumps(rec.metadata).decode()
    assert masker.masked == 2


def test_json_escapes_are_all_undone_for_the_screens():
    # whoever wrote the JSON (orjson, or Python's json with ASCII escapes)
    for text in ["a\fb", "a\bb", "\x1b[0m", "tab\there", 'q"uote', "back\\slash", "\u00e9", "\x00"]:
        for dump in (orjson.dumps(text), json.dumps(text).encode(),
                     json.dumps(text, ensure_ascii=False).encode()):
            assert json_unescaped(dump).decode() == f'"{text}"', (text, dump)


def test_orjson_escapes_are_undone_as_json_unescaped_does():
    # orjson_unescaped's one C pass is right only for the escapes orjson writes: every
    # character, alone and next to a backslash, a quote, a b, an f and a u
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    escaped = {c for c in chars if orjson.dumps(c) != b'"' + c.encode() + b'"'}
    assert {orjson.dumps(c)[1:3] for c in escaped} <= {b'\\"', b"\\\\", b"\\n", b"\\t", b"\\r",
                                                      b"\\b", b"\\f", b"\\u"}
    texts = [*escaped, "plain", "a\\b", "a\\f", "a\\u0041", "\\\\n", "\\\"", "C:\\Users\\new",
             "x\\", "\\" * 5 + "n", "tab\there\nnew\rline \"q\" \x08\x0c\x1b", "\x00\\n"]
    texts += [c + n for c in escaped for n in ("b", "f", "u", "n", "\\", '"')]
    for t in texts:
        for dump in (orjson.dumps(t), orjson.dumps({t: [t, {"k": t}]})):
            assert orjson_unescaped(dump) == json_unescaped(dump), t


def test_the_credential_rules_lookahead_matches_where_its_words_do():
    # the lookahead only speeds Python's `re` up: every character a word can start with
    # (caseless: `ſ` is an `s`) passes it, so the rule finds what it found without it
    rule = next(r for r in _masker().detector.rules if r.id == "credential-assignment")
    lookahead = "(?=(?i:[pstac]))"
    assert rule.regex.pattern.startswith(lookahead)
    bare = re.compile(rule.regex.pattern.removeprefix(lookahead))
    letters = [chr(c) for c in range(0x110000) if re.match("(?i:[a-z])", chr(c))]
    words = ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access-key",
             "auth_key", "private_key", "client_secret", "credential", "credentials"]
    texts = [f"x {c}{w[1:]} := 'abc12345xyz'\n{c}{w[1:]}=abc12345xyz" for w in words for c in letters]
    texts += [item.text for item in secrets()]
    for text in texts:
        want = [(m.start(1), m.end(1)) for m in bare.finditer(text)]
        assert [(m.start(1), m.end(1)) for m in rule.regex.finditer(text)] == want, text
    assert any(rule.regex.search(t) for t in texts if t.startswith("x ſecret"))
