"""What every builder gets: the store, the filters, the options, the prices (loaded once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..settings import Settings
from .filters import Filters, for_store
from .prices import PriceTable


@dataclass
class Context:
    store: Any
    filters: Filters
    settings: Settings
    options: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def where(self) -> dict[str, Any]:
        """The filters as the store takes them (project resolved to ids once)."""
        return for_store(self.store, self.filters)

    @cached_property
    def prices(self) -> PriceTable:
        return PriceTable.load(self.settings.prices)

    @property
    def charts(self) -> bool:
        """Whether charts are drawn (HTML): the others skip the queries charts need."""
        return bool(self.options.get("charts", True))

    def rows(self, query: str, **extra: Any) -> list[dict[str, Any]]:
        return self.store.report_rows(query, {**self.where, **extra})
