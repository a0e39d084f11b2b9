"""What reports ask of a store."""

from __future__ import annotations

from abc import ABC
from typing import Any


class ReportStore(ABC):  # noqa: B024 - methods become abstract as each concern moves here
    # --- reports (issue 3) --------------------------------------------------------------------
    def report_rows(self, query: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows of one named report query (reports/ composes them into reports).

        `filters`: since / until (epoch ms, until exclusive), project_ids, and what the
        query needs (session_id, by, all, ...). Not abstract, so a backend without reports
        still opens; it says so when asked."""
        from ...errors import UsageError

        raise UsageError(f"reports are not available on the {type(self).__name__} backend yet")

