"""What ingest does to every record before it is written: secrets masked in every text the
store keeps (content, metadata, file-version blobs, session facts, error excerpts), so the
store, the keyword index, vectors, exports and backups never see a clear value."""

from __future__ import annotations

from typing import Any

import orjson

from ..settings import PrivacySettings
from ..sources.base import Record
from .detect import SECRET, build
from .levels import EPHEMERAL, Levels
from .mask import Masker, load_key, map_strings, strings


def json_unescaped(dump: bytes) -> bytes:
    """Metadata's JSON with the escapes a secret's surroundings hold undone (quote, backslash,
    newline, tab, carriage return), for the screens: a rule such as `secret_key\\s*=`
    met `secret_key\\t=` in the JSON and missed a value `walk` would have masked."""
    if b"\\" not in dump:
        return dump
    return (dump.replace(b"\\\\", b"\x00").replace(b'\\"', b'"').replace(b"\\n", b"\n")
            .replace(b"\\t", b"\t").replace(b"\\r", b"\r").replace(b"\x00", b"\\"))


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

    def _screen(self, meta: Any) -> bool:
        """The pre-filter over all of the metadata at once (one C dump, one scan)."""
        try:
            return self.screens_json(orjson.dumps(meta))
        except TypeError:  # not JSON-able as it is: look at every string
            return True

    def screens_json(self, dump: bytes) -> bool:
        """Whether metadata stored as this JSON may hold a secret (`privacy scan` reads it so)."""
        return self.detector.candidates(json_unescaped(dump).decode("utf-8", "replace"))

    def _clear(self, rec: Record) -> bool:
        """True when neither the record's text nor its metadata can hold a secret: one scan
        of both joined (the text's own screen and the metadata's JSON, as `_screen` has it),
        where screening each apart took two (most records: nothing is there). The metadata's
        JSON is kept for the store (`Record.metadata_json`): it is what the row stores."""
        if not self.detector.joinable:
            return False
        meta = rec.metadata
        try:
            dump = orjson.dumps(meta) if meta else b""
        except TypeError:
            return False  # `_screen` looks at every string
        text = rec.content.encode("utf-8", "surrogatepass") if rec.content else b""
        if self.detector.may_match(text + b"\n" + json_unescaped(dump)):
            return False
        if dump:
            rec.metadata_json = dump
        return True

    def _values_may_match(self, meta: Any) -> bool:
        """Whether a string of the metadata may hold a secret, its JSON's screen having
        matched: one scan of them all joined, not one each (the JSON's can match across a
        key and its value: a file version's `"file_key":"0b53..."`)."""
        if not self.detector.joinable:
            return True
        data = "\n".join(strings(meta, [])).encode("utf-8", "surrogatepass")
        return self.detector.may_match(data)

    def record(self, rec: Record) -> None:
        """Mask the record in place."""
        if (rec.content or rec.metadata) and self._clear(rec):
            self._rest(rec, False)
            return
        changed = False
        if rec.content:
            new = self.text(rec.content)
            changed = new is not rec.content and new != rec.content
            rec.content = new
        meta = rec.metadata
        if meta and self._screen(meta) and self._values_may_match(meta):
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
