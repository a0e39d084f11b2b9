"""Privacy levels: what may leave the machine or its owner's scope, and redacted how.

One function decides for every door: `memory export` (audience `export`), the REST API
serving a team token (`Shield`, audience `team`) and sync call the same `visible(level,
audience)` and the same redaction. The local CLI, MCP on the user's machine and the owner's
API tokens (admin scope, or a token not restricted to submodules) are the owner.

| level     | owner (local, own tokens) | team tokens / team sync | export, public   |
|-----------|---------------------------|-------------------------|------------------|
| PUBLIC    | as stored                 | all PII masked          | all PII masked   |
| TEAM      | as stored                 | sensitive PII masked    | sensitive masked |
| PRIVATE   | as stored                 | not served              | as stored (the owner exports their own) |
| EPHEMERAL | as stored                 | not served              | never            |

A model reading through MCP or a context pack (audience `agent`) sees what the owner sees
but EPHEMERAL: what it reads leaves the machine for the model's provider.

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
OWNER, TEAM_AUDIENCE, EXPORT, AGENT = "owner", "team", "export", "agent"


def visible(level: str, audience: str) -> bool:
    """May a row of `level` be given to `audience` at all?"""
    if audience == OWNER:
        return True
    if level == EPHEMERAL:
        return False
    if audience == AGENT:
        return True
    if level == PRIVATE:
        return audience == EXPORT  # the owner's own export; never another token or a team
    return True


def _mask_pii(level: str, audience: str) -> str | None:
    """'all', 'sensitive' or None: which PII to mask for this level and audience."""
    if audience in (OWNER, AGENT):
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


def audience_of(scope: str, submodules: tuple[str, ...]) -> str:
    """An API token's audience: the owner's (admin, or one that sees the whole store, as its
    owner does) or the team's (restricted to submodules: given to someone for a part)."""
    return OWNER if scope == "admin" or not submodules else TEAM_AUDIENCE


HIDDEN = object()  # what Shield.apply returns for what the audience may not see


class Shield:
    """What a door serving someone other than the owner may give: the rows of projects and
    sessions whose level is `visible` to the audience, their text redacted as export does."""

    def __init__(self, levels: Levels, pii: PiiRedactor, audience: str) -> None:
        self.levels, self.pii, self.audience = levels, pii, audience

    def sees_project(self, path: str | None) -> bool:
        return visible(self.levels.level(path, None), self.audience)

    def sees(self, project: str | None, session_id: str | None) -> bool:
        return visible(self.levels.level(project, session_id), self.audience)

    def apply(self, value: Any, level: str | None = None) -> Any:
        """A door's JSON as the audience may have it. Every object naming a session or a
        project takes that level (others their parent's); one not visible is left out of its
        list (HIDDEN at the top); strings are redacted by their level."""
        if isinstance(value, dict):
            project = value.get("project")
            if "session_id" in value or isinstance(project, str):
                level = self.levels.level(project if isinstance(project, str) else None,
                                          value.get("session_id"))
                if not visible(level, self.audience):
                    return HIDDEN
            return {k: v for k, v in ((k, self.apply(v, level)) for k, v in value.items())
                    if v is not HIDDEN}
        if isinstance(value, list):
            return [v for v in (self.apply(v, level) for v in value) if v is not HIDDEN]
        if isinstance(value, str) and level is not None:
            which = _mask_pii(level, self.audience)
            return self.pii.redact(value, which) if which else value
        return value

    def text(self, text: str) -> str:
        """A rendered text (a Markdown pack) whose rows are not told apart: all PII masked."""
        return self.pii.redact(text, "all")


def agent_shield(store: Any, cfg: PrivacySettings) -> Shield:
    """What a model may read (MCP, a context pack): all but EPHEMERAL, nothing masked."""
    return Shield(Levels.load(cfg, store.privacy_levels()), PiiRedactor(b"\0" * 32), AGENT)


def ephemeral_in_store(store: Any, cfg: PrivacySettings) -> int:
    """How many stored messages are EPHEMERAL (by project or session): what a backup, an
    image of the whole store, still holds (docs/privacy.md). -1: every one (the default)."""
    from ..store.protocol.privacy import ForgetSelector

    levels = Levels.load(cfg, store.privacy_levels())
    if levels.default == EPHEMERAL:
        return -1
    selectors = [ForgetSelector(project=p) for p, lv in levels.projects.items() if lv == EPHEMERAL]
    selectors += [ForgetSelector(sessions=(s,)) for s, lv in levels.sessions.items() if lv == EPHEMERAL]
    return sum(store.forget_plan(sel).messages for sel in selectors)
