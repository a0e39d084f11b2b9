"""Usage per slice of time, read from api_usage through its ts index (store/protocol/usage_times)."""

from __future__ import annotations

from typing import Any, cast

from ..protocol.reports import Where
from ..protocol.usage_times import UsageTimeRow, UsageTimesStore


class SQLiteUsageTimes(UsageTimesStore):
    db: Any

    def usage_times(self, where: Where, step_ms: int) -> list[UsageTimeRow]:
        cond, args = ["u.ts IS NOT NULL"], [step_ms, step_ms]
        if where.since is not None:
            cond.append("u.ts >= ?")
            args.append(where.since)
        if where.until is not None:
            cond.append("u.ts < ?")
            args.append(where.until)
        if where.project_ids is not None:  # session ids as messages keep them (0028)
            cond.append("u.session_id IN (SELECT uuid_bytes(id) FROM sessions WHERE project_id IN"
                        f" ({', '.join('?' * len(where.project_ids))}))")
            args.extend(where.project_ids)
        return [cast(UsageTimeRow, dict(r)) for r in self.db.execute(f"""
            SELECT (u.ts / ?) * ? AS key, u.model, count(*) AS responses,
                   sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens,
                   sum(u.cache_read_tokens) AS cache_read_tokens,
                   sum(u.cache_write_tokens) AS cache_write_tokens
            FROM api_usage u WHERE {' AND '.join(cond)}
            GROUP BY 1, u.model ORDER BY 1, u.model""", args)]
