"""Response shapes of the context, memories and checkpoints routes, for the OpenAPI document
(as in schemas.py: they describe the actions' `to_json()`, they do not build it)."""

from __future__ import annotations

from typing import Any, get_type_hints

from pydantic import BaseModel, create_model

from ..context.pack import Pack
from ..store.protocol.memories import Evidence, Memory


def _fields(typed: Any) -> dict[str, Any]:
    """A TypedDict's or dataclass's fields, all required (pydantic on 3.11 takes no
    typing.TypedDict)."""
    return {k: (t, ...) for k, t in get_type_hints(typed).items()}


# From the store's own types, so they cannot drift apart.
MemoryOut: Any = create_model("MemoryOut", **_fields(Memory))
EvidenceOut: Any = create_model("EvidenceOut", **_fields(Evidence))
MemoryView: Any = create_model("MemoryView", __base__=MemoryOut, evidence=(list[EvidenceOut], ...))


# Pack.to_json(): its fields (items as Item's) and the tokenizer's name.
PackOut: Any = create_model("PackOut", **_fields(Pack), tokenizer=(str, ...))


class CheckpointRow(BaseModel):
    id: str
    created_at: str | None
    project: str | None
    session_id: str | None
    note: str | None
    tokens: int


class CheckpointOut(BaseModel):
    """docs/checkpoints.md; an imported one may lack the optional parts."""

    format: str
    id: str
    created_at: str
    pack: PackOut
    project: str | None = None
    project_name: str | None = None
    session_id: str | None = None
    note: str | None = None
    summary: str | None = None
    git: dict[str, str | None] | None = None
    todos: list[dict[str, Any]] = []
