"""What `memory export` calls: the rows by privacy level, and the export in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..settings import Settings
from . import audit
from .levels import Levels, PiiRedactor, export_rows
from .mask import load_key


def for_export(store: Any, settings: Settings, rows: Iterator[dict[str, Any]],
               project: str | None) -> Iterator[dict[str, Any]]:
    levels = Levels.load(settings.privacy, store.privacy_levels())
    pii = PiiRedactor(load_key(settings.home, create=not store.readonly) or b"\0" * 32,
                      settings.privacy.rules)
    if not store.readonly:
        audit.record(store, "export", target=project or "*", home=settings.home)
    projects: dict[str, str | None] = {}

    def project_of(session_id: str) -> str | None:
        if session_id not in projects:
            session = store.session(session_id)
            projects[session_id] = session["project"] if session else None
        return projects[session_id]

    return export_rows(rows, levels, pii, project_of=project_of)
