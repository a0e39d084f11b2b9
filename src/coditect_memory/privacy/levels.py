"""Privacy levels: what may leave the machine or its owner's scope, and redacted how.

One function decides for every door: `memory export` calls it now; the REST API (serving
another token) and sync call the same `visible(level, audience)` and
`redact_for(level, audience, text, pii)` when they land.

| level     | owner (local, own tokens) | team tokens / team sync | export, public   |
|-----------|---------------------------|-------------------------|------------------|
| PUBLIC    | as stored                 | all PII masked          | all PII masked   |
| TEAM      | as stored                 | sensitive PII masked    | sensitive masked |
| PRIVATE   | as stored                 | not served              | as stored (the owner exports their own) |
| EPHEMERAL | as stored                 | not served              | never            |

Sensitive PII: cards, SSNs, IBANs, phone numbers; all PII adds emails and IP addresses.
Secrets are masked at capture whatever the level.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..settings import LEVELS, PrivacySettings
from .detect import PII, Finding, build
from .mask import Masker, map_strings

PUBLIC, TEAM, PRIVATE, EPHEMERAL = LEVELS
OWNER, TEAM_AUDIENCE, EXPORT = "owner", "team", "export"


def visible(level: str, audience: str) -> bool:
    """May a row of `level` be given to `audience` at all?"""
    if audience == OWNER:
        return True
    if level == EPHEMERAL:
        return False
    if level == PRIVATE:
        return audience == EXPORT  # the owner's own export; never another token or a team
    return True


def _mask_pii(level: str, audience: str) -> str | None:
    """'all', 'sensitive' or None: which PII to mask for this level and audience."""
    if audience == OWNER:
        return None
    return {PUBLIC: "all", TEAM: "sensitive"}.get(level)


class PiiRedactor:
    def __init__(self, key: bytes, extra: Iterable[dict[str, Any]] = ()) -> None:
        self.masker = Masker(build(PII, extra), key)
        self.sensitive = {r.id for r in self.masker.detector.rules if r.sensitive}

    def redact(self, text: str, which: str) -> str:
        found = self.masker.findings(text)
        if which == "sensitive":
            found = [f for f in found if f.rule in self.sensitive]
        return self.masker.apply(text, found) if found else text

    def findings(self, text: str) -> list[Finding]:
        return self.masker.findings(text)


def redact_for(level: str, audience: str, text: str | None, pii: PiiRedactor) -> str | None:
    """`text` as `audience` may see it at `level`: None when it may not see it at all."""
    if not visible(level, audience):
        return None
    which = _mask_pii(level, audience)
    if text is None or which is None:
        return text
    return pii.redact(text, which)


@dataclass
class Levels:
    """The level of each project and session: `memory privacy set` (stored) over config over
    the default."""

    default: str
    projects: dict[str, str]  # path or name -> level
    sessions: dict[str, str]

    @classmethod
    def load(cls, cfg: PrivacySettings, stored: list[tuple[str, str, str]]) -> Levels:
        projects = dict(cfg.levels)
        projects.update((name, level) for scope, name, level in stored if scope == "project")
        sessions = {name: level for scope, name, level in stored if scope == "session"}
        return cls(cfg.default_level, projects, sessions)

    def level(self, project: str | None, session_id: str | None) -> str:
        if session_id and session_id in self.sessions:
            return self.sessions[session_id]
        if project:
            if project in self.projects:
                return self.projects[project]
            name = project.rstrip("/").rsplit("/", 1)[-1]
            if name in self.projects:
                return self.projects[name]
        return self.default


def export_rows(rows: Iterator[dict[str, Any]], levels: Levels, pii: PiiRedactor,
                audience: str = EXPORT,
                project_of: Callable[[str], str | None] | None = None) -> Iterator[dict[str, Any]]:
    """The export's rows as `audience` may have them: EPHEMERAL left out, PII masked by level
    (content, metadata and file-version text). A row without a project (file versions)
    takes its session's (`project_of`)."""
    for d in rows:
        project = d.get("project")
        if project is None and d.get("session_id") and project_of is not None:
            project = project_of(d["session_id"])
        level = levels.level(project, d.get("session_id"))
        if not visible(level, audience):
            continue
        which = _mask_pii(level, audience)
        if which is not None:
            _redact_row(d, which, pii)
        yield d


def _redact_row(d: dict[str, Any], which: str, pii: PiiRedactor) -> None:
    content = d.get("content")
    if content:
        new = pii.redact(content, which)
        if new != content:
            d["content"] = new
            d["content_hash"] = hashlib.sha256(new.encode("utf-8", "surrogatepass")).hexdigest()
    if d.get("metadata"):
        d["metadata"] = orjson.dumps(map_strings(
            orjson.loads(d["metadata"]), lambda t: pii.redact(t, which))).decode()
    if d.get("blob") is not None and d.get("blob_is_text"):
        try:
            text = bytes(d["blob"]).decode("utf-8")
        except UnicodeDecodeError:
            return
        d["blob"] = pii.redact(text, which).encode("utf-8")
