"""GET /metrics: Prometheus exposition (scope metrics or admin). Store figures are read at
scrape time; request and cache figures are counted as requests pass."""

from __future__ import annotations

import os
import time
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from ...actions import backup
from ...errors import MemoryError_
from ...timeutil import parse_ts
from ..context import Caller, caller
from ..errors import ERRORS

router = APIRouter(tags=["metrics"])


@router.get("/metrics", responses=ERRORS, summary="Prometheus metrics (scope metrics or admin)")
def metrics(c: Annotated[Caller, Depends(caller("metrics"))]) -> Response:
    m, store = c.api.metrics, c.store
    rows = c.api.counts()
    for what in ("messages", "sessions", "projects"):
        m.store_rows.labels(what).set(rows[what])
    path = c.api.settings.db_path
    m.store_bytes.set(os.path.getsize(path) if path.exists() else 0)
    by_status: dict[str, int] = {}
    runs = store.runs(1000)
    for r in runs:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    for status, n in by_status.items():
        m.ingest_runs.labels(status).set(n)
    m.ingest_errors.set(runs[0]["errors"] if runs else 0)
    m.backup_age.set(_backup_age(c))
    return Response(m.exposition(), media_type=CONTENT_TYPE_LATEST)


def _backup_age(c: Caller) -> float:
    if not c.api.settings.backup.target:
        return -1
    try:
        done = [b for b in backup.list_backups(c.api.settings, backup.Target()) if not b.damaged]
    except MemoryError_:
        return -1
    ms = parse_ts(done[-1].created_at) if done else None
    return round(time.time() - ms / 1000, 1) if ms else -1
