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
    _seen: dict[tuple[tuple[str, ...], str], Visibility] = field(default_factory=dict)
    _counts: tuple[str, dict[str, int]] = ("", {})
    _tokens: list[TokenCounter] = field(default_factory=list)

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

    def visibility(self, p: Principal, generation: str) -> Visibility:
        """What the principal's submodules see, resolved once per store generation."""
        key = (p.submodules, generation)
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) > 256:
                self._seen.clear()
            seen = self._seen[key] = visibility(self.store, p.submodules)
        return seen


@dataclass
class Caller:
    api: Api
    principal: Principal
    seen: Visibility
    generation: str

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
        return Caller(api, p, api.visibility(p, generation), generation)

    return dep


def cached(c: Caller, request: Request, compute: Callable[[], Any],
           media_type: str = JSON) -> Response:
    """The answer of a read route, from the cache when this exact question was answered for
    the same visibility at the same store generation."""
    params = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
    raw = f"{request.url.path}?{params}|{c.seen.key}|{c.generation}"
    key = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    body = c.api.responses.get(key)
    c.api.metrics.cache.labels("hit" if body is not None else "miss").inc()
    if body is None:
        value = compute()
        body = value.encode() if isinstance(value, str) else orjson.dumps(
            value, option=orjson.OPT_NON_STR_KEYS)
        c.api.responses.put(key, body)
    return Response(body, media_type=media_type)
