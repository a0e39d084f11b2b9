"""Token usage by time of day: what day boundaries in a time zone, weeks, months and
Claude's 5-hour billing blocks are cut from (the stored rollups are whole UTC days)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypedDict

from .reports import Where


class UsageTimeRow(TypedDict):
    key: int  # the slice's first millisecond (epoch ms, a multiple of step_ms)
    model: str | None
    responses: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class UsageTimesStore(ABC):
    @abstractmethod
    def usage_times(self, where: Where, step_ms: int) -> list[UsageTimeRow]:
        """API responses and their tokens per (step_ms-long slice of time, model), oldest
        first; responses without a time are left out."""
