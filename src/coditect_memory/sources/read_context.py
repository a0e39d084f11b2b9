"""The input a reader gets for one file, and the watermark it hands back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import Settings
from .base import ReadEnd

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class ReadContext:
    path: Path  # absolute path, opened read-only
    relpath: str  # relative to the ingested root, '/' separators
    size: int
    config: Settings
    start_offset: int = 0
    start_line: int = 0
    hasher: Any = None  # sha256 state of the consumed prefix, when resuming
    state: dict[str, Any] = field(default_factory=dict)
    end: ReadEnd = field(default_factory=ReadEnd)

    @property
    def session_hint(self) -> str | None:
        """The session a file belongs to by its path: the nearest UUID-like component."""
        parts = self.relpath.split("/")
        stem = parts[-1].rsplit(".", 1)[0]
        for part in reversed(parts[:-1]):
            if _UUID.match(part):
                return part
        if stem.startswith("agent-"):
            return None
        return stem.split("-agent-")[0] if "-agent-" in stem else stem

    @property
    def agent_hint(self) -> str | None:
        name = self.relpath.rsplit("/", 1)[-1]
        # agent-ID.meta.json is the sidecar of agent-ID.jsonl: the same agent, not "ID.meta"
        stem = name.removesuffix(".meta.json") if name.endswith(".meta.json") else name.rsplit(".", 1)[0]
        if stem.startswith("agent-"):
            return stem[6:]
        if "-agent-" in stem:
            return stem.split("-agent-", 1)[1]
        return None
