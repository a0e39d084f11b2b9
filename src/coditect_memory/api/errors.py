"""One error shape for every failure: {"error": {"code", "message"}}, never a traceback.
MemoryError_ subclasses map to HTTP codes here and only here."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ..errors import (
    BackupDamaged,
    BackupError,
    Forbidden,
    MemoryError_,
    NotFound,
    SourceMissing,
    StorageIOError,
    StoreError,
    StoreLocked,
    TargetError,
    Unauthorized,
    UsageError,
)
from ..search.embedder import SemanticUnavailable

log = logging.getLogger("coditect_memory.api")

# The first class in this list that the error is an instance of decides (subclasses first).
STATUS: list[tuple[type[MemoryError_], int, str]] = [
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (StoreLocked, 409, "busy"),
    (SemanticUnavailable, 409, "semantic_unavailable"),
    (UsageError, 422, "invalid"),
    (SourceMissing, 409, "source_missing"),
    (BackupDamaged, 409, "backup_damaged"),
    (TargetError, 502, "backup_target"),
    (BackupError, 409, "backup"),
    (StorageIOError, 507, "storage"),
    (StoreError, 503, "store"),
]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


def error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


def status_of(e: MemoryError_) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(e, cls):
            return status, code
    return 400, "error"


def _validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) + " (see /api/v1/docs for each parameter)"


def install(app: FastAPI) -> None:
    @app.exception_handler(MemoryError_)
    async def _mine(request: Request, exc: MemoryError_) -> JSONResponse:
        status, code = status_of(exc)
        return error(status, code, str(exc).splitlines()[0] if status == 404 else str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, "invalid", _validation(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, "not_found" if exc.status_code == 404 else "http",
                     str(exc.detail))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, "internal", "unexpected error; the server log has the details")


# For the OpenAPI document: what each route may answer besides 200.
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody}
                                           for code in (401, 403, 404, 409, 422)}
