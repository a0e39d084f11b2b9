"""What every route gets: the process's shared parts (`Api`) and the caller (`Caller`: the
token's principal, what it may see, the store generation), plus the cached answer helper."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..actions.auth import Principal, authenticate
from ..actions.submodules import Visibility, visibility
from ..context.tokens import TokenCounter
from ..errors import NotFound
from ..privacy.levels import HIDDEN, OWNER, Levels, PiiRedactor, Shield, audience_of
from ..search.cache import SearchCache
from ..settings import Settings
from ..store.base import Store
from .cache import ResponseCache
from .metrics import Metrics

JSON = "application/json"


@dataclass
class Api:
    """One per process: the store, the open search index, the response cache, the metrics."""

    settings: Settings
    store: Store
    search: SearchCache
    responses: ResponseCache
    metrics: Metrics
    key: bytes  # the token signing secret
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    _seen: dict[tuple[tuple[str, ...], str, bool], Visibility] = field(default_factory=dict)
    _counts: tuple[str, dict[str, int]] = ("", {})
    _tokens: list[TokenCounter] = field(default_factory=list)
    _shield: tuple[str, Shield | None] = ("", None)

    def tokens(self) -> TokenCounter:
        """The tokenizer of context packs, loaded on the first pack (~0.1 s) and kept."""
        if not self._tokens:
            self._tokens.append(TokenCounter())
        return self._tokens[0]

    def counts(self) -> dict[str, int]:
        """The store's row counts, read again only when the generation moved."""
        generation = self.store.generation()
        if self._counts[0] != generation:
            self._counts = (generation, self.store.counts())
        return self._counts[1]

    def shield(self, generation: str) -> Shield:
        """The privacy levels as a team token gets them (privacy/levels.py), per generation."""
        if self._shield[0] != generation or self._shield[1] is None:
            from ..privacy.levels import TEAM_AUDIENCE
            from ..privacy.mask import load_key

            cfg = self.settings.privacy
            pii = self._shield[1].pii if self._shield[1] else PiiRedactor(
                load_key(self.settings.home, create=False) or b"\0" * 32, cfg.rules)
            shield = Shield(Levels.load(cfg, self.store.privacy_levels()), pii, TEAM_AUDIENCE)
            self._shield = (generation, shield)
            return shield
        return self._shield[1]

    def visibility(self, p: Principal, generation: str) -> Visibility:
        """What the principal's submodules see, resolved once per store generation; a team
        token sees only the projects whose privacy level is visible to a team."""
        team = audience_of(p.scope, p.submodules) != OWNER
        key = (p.submodules, generation, team)
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) > 256:
                self._seen.clear()
            seen = visibility(self.store, p.submodules)
            if team:
                shield = self.shield(generation)
                mine = [r for r in self.store.report_projects(None)
                        if seen.sees(r["path"]) and shield.sees_project(r["path"])]
                seen = Visibility(tuple(sorted(r["id"] for r in mine)) or (0,),
                                  frozenset(r["path"] for r in mine))
            self._seen[key] = seen
        return seen


@dataclass
class Caller:
    api: Api
    principal: Principal
    seen: Visibility
    generation: str
    shield: Shield | None = None  # a team token's privacy levels (None: the owner's)

    @property
    def store(self) -> Store:
        return self.api.store

    def check_project(self, project_path: str | None, what: str) -> None:
        """404 (as if it did not exist) for what belongs to another submodule."""
        if not self.seen.sees(project_path):
            raise NotFound(f"no {what}; `memory sessions` lists them")


bearer = HTTPBearer(auto_error=False, description="a token from `memory auth token`")


def caller(need: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, when its token is valid and its scope allows `need`."""

    # async: run on the event loop, not a thread hop (two small indexed reads)
    async def dep(request: Request,
                  _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> Caller:
        api: Api = request.app.state.api
        p = authenticate(api.store, api.key, request.headers.get("authorization"))
        p.require(need)
        generation = api.store.generation()
        shield = api.shield(generation) if audience_of(p.scope, p.submodules) != OWNER else None
        return Caller(api, p, api.visibility(p, generation), generation, shield)

    return dep


def cached(c: Caller, request: Request, compute: Callable[[], Any],
           media_type: str = JSON) -> Response:
    """The answer of a read route, from the cache when this exact question was answered for
    the same visibility at the same store generation."""
    params = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    raw = f"{request.url.path}?{params}|{c.seen.key}|{c.generation}|{c.shield is not None}"
    key = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    body = c.api.responses.get(key)
    c.api.metrics.cache.labels("hit" if body is not None else "miss").inc()
    if body is None:
        value = compute()
        if c.shield is not None:  # a team token: privacy levels, as export applies them
            value = c.shield.text(value) if isinstance(value, str) else c.shield.apply(value)
            if value is HIDDEN:
                raise NotFound("not found, or not shared with your token's team "
                               "(`memory privacy levels`)")
        body = value.encode() if isinstance(value, str) else orjson.dumps(
            value, option=orjson.OPT_NON_STR_KEYS)
        c.api.responses.put(key, body)
    return Response(body, media_type=media_type)


def sync_scope(c: Caller) -> Visibility:
    """What sync serves and accepts: the token's submodules. The rows carry their own levels
    (a machine pushes only TEAM and PUBLIC rows, which pull redacts as the team sees them),
    so a team token's narrowing by this server's default level does not apply here."""
    return c.seen if c.shield is None else visibility(c.store, c.principal.submodules)
