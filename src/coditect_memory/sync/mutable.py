"""Placeholder until the sync-mutable branch lands (it replaces this file wholesale): the
mutable records' push, pull and status, doing nothing here."""

from __future__ import annotations

from typing import Any


def push_mutable(client: Any, store: Any) -> dict[str, Any]:
    return {}


def pull_mutable(client: Any, store: Any) -> dict[str, Any]:
    return {}


def mutable_status(store: Any) -> dict[str, Any]:
    return {}
