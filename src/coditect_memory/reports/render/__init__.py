"""Renderers: a Report in, text out (the Rich table renderer returns renderables)."""

from __future__ import annotations

import importlib

from ..model import Report

FORMATS = ("table", "json", "csv", "md", "html")
_MODULES = {"json": "jsonout", "csv": "csvout", "md": "markdown", "html": "html"}


def render(report: Report, fmt: str) -> str:
    """The report as text in `fmt` (json, csv, md, html)."""
    return importlib.import_module(f"{__package__}.{_MODULES[fmt]}").render(report)
