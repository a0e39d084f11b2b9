"""Reports: builders turn store rows into a Report (model.py); renderers (render/) turn a
Report into a table, JSON, CSV, Markdown or one self-contained HTML file. Nothing here
prints: the doors call actions.reports, which calls `build`, and write what a renderer
returns."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..settings import Settings
from ..store.base import Store
from .builder import Context, Options
from .filters import Filters
from .model import Report

# name -> (module, function, one line of help)
REPORTS: dict[str, tuple[str, str, str]] = {
    "project-activity": ("activity", "project_activity",
                         "per project: sessions, messages, prompts, errors, tokens, days, hours"),
    "timeline": ("activity", "timeline", "per day and project: sessions, messages, errors, "
                 "components, tools, titles"),
    "component-usage": ("components", "build", "per component and tool: occurrences, sessions, "
                        "days, errors, error rate"),
    "error-analysis": ("error_analysis", "build", "errors by component and project, with "
                       "samples grouped by similar message"),
    "session": ("session", "build", "one session: metadata, models, tokens, tools, errors, "
                "files, conversation (memory report session ID)"),
    "extraction-progress": ("progress", "build", "every ingest run, and coverage per source "
                            "kind and file"),
    "usage": ("usage", "build", "tokens and cost at list prices per day, model, project or "
              "session (--by)"),
}


def build(store: Store, name: str, filters: Filters, settings: Settings,
          options: Options | None = None) -> Report:
    module, func, _ = REPORTS[name]
    builder: Callable[[Context], Report] = getattr(
        importlib.import_module(f"{__package__}.{module}"), func)
    return builder(Context(store, filters, settings, options or Options()))


def day_view(store: Store, filters: Filters, settings: Settings) -> dict[str, Any]:
    from . import day

    return day.build(Context(store, filters, settings))


__all__ = ["REPORTS", "Filters", "Options", "Report", "build", "day_view"]
