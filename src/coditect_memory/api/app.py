"""The FastAPI app: routes under /api/v1, the web UI at /, one error shape, metrics."""

from __future__ import annotations

import importlib
import time
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..actions.auth import secret
from ..search.cache import SearchCache
from ..settings import Settings
from ..store import Store, open_store
from . import errors
from .cache import open_cache
from .context import Api
from .metrics import Metrics
from .routes import ROUTERS

PREFIX = "/api/v1"


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The app over the store the Settings name (opened here unless given; it must exist)."""
    owned = store is None
    api = Api(settings=settings, store=store or open_store(settings, create=False),
              search=SearchCache(), metrics=Metrics(), key=secret(settings),
              responses=open_cache(settings.api.redis_url, settings.api.cache_entries,
                                   settings.api.cache_ttl_seconds))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        if owned:
            api.store.close()

    app = FastAPI(title="coditect-memory", version=__version__, lifespan=lifespan,
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=f"{PREFIX}/docs", redoc_url=None,
                  description="Everything Claude Code leaves on disk: search, sessions, "
                  "reports, backups. Every route but /health needs `Authorization: Bearer`.")
    app.state.api = api
    errors.install(app)
    for name in ROUTERS:
        app.include_router(importlib.import_module(f"{__package__}.routes.{name}").router,
                           prefix=PREFIX)

    app.add_middleware(Measure, metrics=api.metrics)

    static = resources.files(__package__).joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(static.joinpath("index.html")))

    return app


class Measure:
    """Requests by route and status, and their latency (plain ASGI: Starlette's
    BaseHTTPMiddleware costs about a millisecond a request)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0, status = time.perf_counter(), 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            name = getattr(scope.get("route"), "path", "other")
            self.metrics.requests.labels(name, scope["method"], str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - t0)


def from_environment() -> FastAPI:
    """The app for `memory serve` (uvicorn's factory: each worker builds its own)."""
    from ..settings import load_settings

    return create_app(load_settings())
