"""What every report builder gets: the store, the filters, the options, the prices (loaded
once), and the filters as the store takes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from ..settings import Settings
from ..store.base import Store
from ..store.protocol.reports import Where
from .filters import Filters, for_store
from .prices import PriceTable

UsageBy = Literal["day", "week", "month", "session", "model", "project", "block"]


@dataclass(frozen=True)
class Options:
    """What some reports take besides the filters."""

    session_id: str | None = None  # session: the session (or a unique prefix)
    by: UsageBy = "day"  # usage: what one row is
    every: bool = False  # extraction-progress: list every source file
    charts: bool = True  # run the queries charts need (HTML draws them)


@dataclass
class Context:
    store: Store
    filters: Filters
    settings: Settings
    options: Options = field(default_factory=Options)

    @cached_property
    def where(self) -> Where:
        """The filters as the store takes them (project resolved to ids once)."""
        return for_store(self.store, self.filters)

    @cached_property
    def prices(self) -> PriceTable:
        return PriceTable.load(self.settings.prices)

    @property
    def charts(self) -> bool:
        """Whether charts are drawn (HTML): the others skip the queries charts need."""
        return self.options.charts
