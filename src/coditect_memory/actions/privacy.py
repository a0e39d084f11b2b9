"""`memory privacy scan | apply | set | levels | purge`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..errors import UsageError
from ..privacy import audit
from ..privacy.capture import CaptureMasker
from ..privacy.detect import SECRET, build
from ..privacy.levels import Levels
from ..privacy.mask import Masker, load_key, strings
from ..settings import LEVELS, Settings
from ..store import Store
from .forget import purge as purge_forgotten

PAGE = 5000


@dataclass
class ScanResult:
    messages_scanned: int = 0
    messages_with_findings: int = 0
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule -> count, where
    rewritten: int = 0  # apply only
    blobs_rewritten: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _note(result: ScanResult, rule: str, mid: int, session: str | None) -> None:
    f = result.findings.setdefault(rule, {"count": 0, "messages": [], "sessions": []})
    f["count"] += 1
    if len(f["messages"]) < 20 and mid not in f["messages"]:
        f["messages"].append(mid)
    if session and session not in f["sessions"] and len(f["sessions"]) < 20:
        f["sessions"].append(session)


def _findings(capture: CaptureMasker, content: str | None, meta: str | None) -> list[Any]:
    """A row's secrets: in its text, and in its metadata's strings (what `walk` masks; the
    JSON's own text holds escapes a rule's surroundings do not match)."""
    det = capture.detector
    found = det.find(content) if content and det.candidates(content) else []
    if meta and capture.screens_json(meta.encode("utf-8", "surrogatepass")):
        for text in strings(orjson.loads(meta), []):
            found += det.find(text)
    return found


def scan(store: Store, settings: Settings, apply: bool = False) -> ScanResult:
    """Find secrets in what is already stored (kind, count, where; never the value); with
    `apply`, mask them in place, re-index those rows, and leave no clear copy behind."""
    key = load_key(settings.home, create=apply) or b"\0" * 32
    capture = CaptureMasker(Masker(build(SECRET, settings.privacy.rules), key))
    det = capture.detector
    result = ScanResult()
    after = 0
    changed_ids: list[int] = []
    while rows := store.privacy_texts(after, PAGE):
        updates = []
        for mid, content, meta, session in rows:
            result.messages_scanned += 1
            hit = False
            for f in _findings(capture, content, meta):
                _note(result, f.rule, mid, session)
                hit = True
            if hit:
                result.messages_with_findings += 1
                if apply:
                    new_meta = (orjson.dumps(capture.walk(orjson.loads(meta))).decode()
                                if meta else meta)
                    updates.append((mid, capture.text(content) if content else content, new_meta))
        if updates:
            store.rewrite_texts(updates)
            changed_ids += [u[0] for u in updates]
            result.rewritten += len(updates)
        after = rows[-1][0]
    others = []
    for table, row_key, col, text in store.privacy_other_texts():
        found = det.find(text)
        for f in found:
            _note(result, f.rule, 0, row_key if table == "sessions" else None)
        if found:
            others.append((table, row_key, col, capture.masker.apply(text, found)))
    if apply and others:
        store.rewrite_other_texts(others)
    for sha, data in list(store.privacy_blobs()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        found = det.find(text)
        for f in found:
            _note(result, f.rule, 0, None)
        if found and apply:
            store.rewrite_blob(sha, capture.masker.apply(text, found).encode("utf-8"))
            result.blobs_rewritten += 1
    if apply and (changed_ids or result.blobs_rewritten):
        from ..search import indexer
        from ..search.cache import SearchCache

        store.scrub(vacuum=True)
        state = store.index_state(indexer.ENGINE)
        if state and state["index_id"]:  # old segments hold the clear terms: a new index
            indexer.sync(store, settings.search.index_dir, SearchCache(), rebuild=True)
        audit.record(store, "privacy.apply", detail={"messages": result.rewritten,
                                                     "blobs": result.blobs_rewritten},
                     home=settings.home)
    return result


@dataclass(frozen=True)
class LevelSet:
    scope: str
    name: str
    level: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def set_level(store: Store, scope: str, name: str, level: str, reason: str | None = None,
              home: Path | None = None) -> LevelSet:
    """`home`: where deferred audit entries wait, chained before this one (in time order)."""
    level = level.upper()
    if level not in LEVELS:
        raise UsageError(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    store.set_privacy_level(scope, name, level, int(time.time() * 1000))
    audit.record(store, "privacy.set", target=f"{scope}:{name}", reason=reason,
                 detail={"level": level}, home=home)
    return LevelSet(scope, name, level)


@dataclass(frozen=True)
class LevelList:
    default: str
    projects: dict[str, str]
    sessions: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def levels(store: Store, settings: Settings) -> LevelList:
    lv = Levels.load(settings.privacy, store.privacy_levels())
    return LevelList(lv.default, lv.projects, lv.sessions)


@dataclass(frozen=True)
class Purged:
    rows: int
    audit_entries_dropped: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def purge(store: Store, settings: Settings, everything: bool = False) -> Purged:
    """Purge held rows that are due (or all held rows), and audit entries past retention."""
    n = purge_forgotten(store, settings, due_only=not everything)
    dropped = audit.prune(store, settings.privacy.audit_retention_days)
    if n:
        audit.record(store, "privacy.purge", detail={"rows": n}, home=settings.home)
    return Purged(n, dropped)
