"""What ingest does to every record before it is written: secrets masked in every text the
store keeps (content, metadata, file-version blobs, session facts, error excerpts), so the
store, the keyword index, vectors, exports and backups never see a clear value."""

from __future__ import annotations

import codecs
import re
from typing import Any

import orjson

from ..settings import PrivacySettings
from ..sources.base import Record
from .detect import SECRET, build
from .levels import EPHEMERAL, Levels
from .mask import Masker, load_key, map_strings, strings

_JSON_ESCAPE = re.compile(rb'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_JSON_CHAR = {b'"': b'"', b"\\": b"\\", b"/": b"/", b"b": b"\b", b"f": b"\f", b"n": b"\n",
              b"r": b"\r", b"t": b"\t"}


def _json_char(m: re.Match[bytes]) -> bytes:
    e = m.group(1)
    if len(e) == 1:
        return _JSON_CHAR[e]
    return chr(int(e[1:], 16)).encode("utf-8", "surrogatepass")


def json_unescaped(dump: bytes) -> bytes:
    """Metadata's JSON with its escapes undone, for the screens: a rule such as
    `secret_key\\s*=` met `secret_key\\t=` (or `\\f`, `\\u001b`) in the JSON and missed a
    value `walk` would have masked. Only the screens read it: the values are masked as
    they are."""
    if b"\\" not in dump:
        return dump
    return _JSON_ESCAPE.sub(_json_char, dump)


def orjson_unescaped(dump: bytes) -> bytes:
    """`json_unescaped` of orjson's own output, in one C pass where that is the same: orjson
    escapes only as `\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX` (a test checks every character), and
    `codecs.escape_decode` undoes all but the last as `json_unescaped` does, so a dump with
    a `\\u` takes the regex (measured on 150k messages: 0.35 s instead of 0.86 s for the
    30k dumps with a backslash)."""
    if b"\\" not in dump:
        return dump
    if b"\\u" in dump:
        return json_unescaped(dump)
    return codecs.escape_decode(dump)[0]


class CaptureMasker:
    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.detector = masker.detector
        self.masked = 0  # records changed (for the run's stats)

    @classmethod
    def from_settings(cls, cfg: PrivacySettings, home: Any) -> CaptureMasker | None:
        """None when [privacy] secrets = "keep"."""
        if cfg.secrets != "mask":
            return None
        return cls(Masker(build(SECRET, cfg.rules), load_key(home)))

    def text(self, value: str) -> str:
        return self.masker.apply(value)  # find() screens first: one pass when nothing is there

    def walk(self, obj: Any) -> Any:
        return map_strings(obj, self.text)

    def screens_json(self, dump: bytes) -> bool:
        """Whether metadata stored as this JSON may hold a secret (`privacy scan` reads it so)."""
        return self.detector.candidates(json_unescaped(dump).decode("utf-8", "replace"))

    def _values_may_match(self, meta: Any) -> bool:
        """Whether a string of the metadata may hold a secret, its JSON's screen having
        matched: one scan of them all joined, not one each (the JSON's can match across a
        key and its value: a file version's `"file_key":"0b53..."`)."""
        if not self.detector.joinable:
            return True
        data = "\n".join(strings(meta, [])).encode("utf-8", "surrogatepass")
        return self.detector.may_match(data)

    def record(self, rec: Record) -> None:
        """Mask the record in place. Most records hold nothing: one scan of their text and
        their metadata's JSON joined clears them (`Detector.joinable`), and the JSON is kept
        for the store (`Record.metadata_json`: it is what the row stores). The others are
        screened part by part (the metadata's JSON first), with the JSON dumped and unescaped once
        for both screens (dumping and unescaping it again took a fifth of their time)."""
        content, meta = rec.content, rec.metadata
        detector = self.detector
        try:
            dump: bytes | None = orjson.dumps(meta) if meta else b""
        except TypeError:
            dump = None  # not JSON-able as it is: `_values_may_match` looks at every string
        plain = orjson_unescaped(dump) if dump else b""
        if dump is not None and (content or dump) and detector.joinable:
            text = content.encode("utf-8", "surrogatepass") if content else b""
            if not detector.may_match(text + b"\n" + plain):
                if dump:
                    rec.metadata_json = dump
                self._rest(rec, False)
                return
        changed = False
        if content:
            new = self.text(content)
            changed = new is not content and new != content
            rec.content = new
        if meta and (dump is None or detector.may_match(plain)) and self._values_may_match(meta):
            new_meta = self.walk(meta)
            changed = changed or new_meta != meta
            rec.metadata = new_meta
        self._rest(rec, changed)

    def _rest(self, rec: Record, changed: bool) -> None:
        """The record's blob and session facts masked; `changed`: its text or metadata was."""
        if rec.blob is not None and b"\x00" not in rec.blob[:8192]:
            try:
                text = rec.blob.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                new_text = self.masker.apply(text)
                if new_text != text:
                    rec.blob = new_text.encode("utf-8")
                    changed = True
        if rec.facts:
            for k, v in rec.facts.items():
                if isinstance(v, str):
                    rec.facts[k] = self.text(v)
        if changed:
            self.masked += 1


class EphemeralFilter:
    """With `[privacy] store_ephemeral = false`: the records of EPHEMERAL projects and
    sessions are not stored at all. A record without a working directory takes the one its
    session was seen with (in this run, else in the store)."""

    def __init__(self, levels: Levels, store: Any) -> None:
        self.levels = levels
        self.store = store
        self.projects: dict[str, str | None] = {}
        self.skipped = 0

    @classmethod
    def from_settings(cls, cfg: PrivacySettings, store: Any) -> EphemeralFilter | None:
        if cfg.store_ephemeral:
            return None
        return cls(Levels.load(cfg, store.privacy_levels()), store)

    def drop(self, rec: Record) -> bool:
        sid = rec.session_id
        project = rec.project
        if sid:
            if project:
                self.projects.setdefault(sid, project)
            elif sid in self.projects:
                project = self.projects[sid]
            else:
                session = self.store.session(sid)
                project = self.projects[sid] = session["project"] if session else None
        if self.levels.level(project, sid) != EPHEMERAL:
            return False
        self.skipped += 1
        return True
