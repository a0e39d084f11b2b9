"""Reports and the timeline: `memory report NAME` and `memory timeline DAY|RANGE`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from ..errors import NotFound, UsageError
from ..reports import REPORTS, Options, Report, build, day_view
from ..reports import filters as flt
from ..settings import Settings
from ..store.base import Store
from ..store.protocol.reports import Where
from ..timeutil import iso, zone

__all__ = ["REPORTS", "DayView", "Options", "Report", "ReportFilters", "StatusLine", "check",
           "report", "statusline", "timeline"]


@dataclass(frozen=True)
class ReportFilters:
    """--since, --until (a day, a date-time, 7d, ...) and --project, as people write them."""

    since: str | None = None
    until: str | None = None
    project: str | None = None
    visible: tuple[int, ...] | None = None  # only these projects (a scoped API token); None: all
    timezone: str | None = None  # IANA name where days begin; None: this machine's zone


def report(store: Store, settings: Settings, name: str, filters: ReportFilters | None = None,
           options: Options | None = None) -> Report:
    """The report NAME (a key of REPORTS); its `to_json()` is the `--json` shape."""
    filters, options = filters or ReportFilters(), options or Options()
    return build(store, name, check(name, filters, options), settings, options)


def check(name: str, filters: ReportFilters, options: Options) -> flt.Filters:
    """The request's mistakes, found before a store is opened; the filters parsed."""
    if name not in REPORTS:
        raise UsageError(f"no report {name!r}; known: {', '.join(REPORTS)}")
    if name == "session" and not options.session_id:
        raise UsageError("`memory report session` needs a SESSION_ID; `memory sessions` lists them")
    if name != "session" and options.session_id:
        raise UsageError(f"unexpected argument {options.session_id!r}: only `session` takes an ID")
    if name == "session" and (filters.since or filters.until or filters.project):
        raise UsageError("`report session` shows the whole session: drop --since/--until/--project")
    if name == "extraction-progress" and filters.project:
        raise UsageError("runs read whole folders, not projects: drop --project")
    return flt.make(filters.since, filters.until, filters.project, filters.visible,
                    zone(filters.timezone))


@dataclass
class DayView:
    """What happened on each day of a range: sessions in order, with titles, prompts, tools
    and errors (`data` is the `memory timeline --json` shape)."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


def timeline(store: Store, settings: Settings, when: str | None = None,
             project: str | None = None, visible: tuple[int, ...] | None = None,
             tz: tzinfo = UTC) -> DayView:
    """WHEN is a day or FROM..TO (days, both included) in `tz`; without one, the last day
    with activity (prompts or active time; any day with rows when none has)."""
    if when is None:
        days = store.report_daily(Where(project_ids=visible))
        worked = [d for d in days if d["prompts"] or d["active_ms"]] or days
        if not worked:
            raise NotFound("nothing recorded yet: run `memory ingest` first")
        when = flt.day_name(worked[-1]["day"])
    since, until = flt.parse_range(when, tz)
    return DayView(day_view(store, flt.Filters(since, until, project, visible, tz), settings))


@dataclass
class StatusLine:
    """Today's usage and the current 5-hour billing block, for Claude Code's status line
    (`memory statusline`; `to_json()` is its `--json` shape)."""

    timezone: str
    today_cost_usd: float
    today_tokens: int
    block: dict[str, Any] | None  # start, end (ISO), cost_usd, tokens, minutes_left; None: idle
    session_cost_usd: float | None = None  # what Claude Code said this session cost

    def to_json(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "today": {"cost_usd": self.today_cost_usd,
                                                     "tokens": self.today_tokens},
                "block": self.block, "session_cost_usd": self.session_cost_usd}


def statusline(store: Store, settings: Settings, now_ms: int, timezone: str | None = None,
               session_cost_usd: float | None = None) -> StatusLine:
    """Usage of today (in `timezone`, default local) and of the billing block active at
    `now_ms`, read from the last day (one indexed query: fast enough to run after every
    message). A block running since more than a day ago is cut at that day."""
    from ..reports.prices import PriceTable
    from ..reports.usage import BLOCK_MS, MINUTE_MS, blocks
    from ..timeutil import day_ms, local, zone_name

    tz = zone(timezone)
    midnight = day_ms(local(now_ms, tz).date(), tz)
    since = min(midnight, now_ms - 4 * BLOCK_MS)
    rows = store.usage_times(Where(since, now_ms + 1), MINUTE_MS)
    prices = PriceTable.load(settings.prices)
    cut = blocks(sorted({r["key"] for r in rows}), now_ms)
    current = cut[-1] if cut and cut[-1]["active"] else None
    today = {"cost": 0.0, "tokens": 0}
    block = {"cost": 0.0, "tokens": 0}
    for r in rows:
        tokens = r["input_tokens"] + r["output_tokens"] + r["cache_read_tokens"] + r["cache_write_tokens"]
        cost = prices.cost(r["model"], r) or 0.0
        for acc, start in ((today, midnight), (block, current["start"] if current else None)):
            if start is not None and r["key"] >= start:
                acc["cost"] += cost
                acc["tokens"] += tokens
    out = None
    if current:
        left = max(0, current["end"] - now_ms) // 60_000
        out = {"start": iso(current["start"]), "end": iso(current["end"]),
               "cost_usd": block["cost"], "tokens": block["tokens"], "minutes_left": left}
    return StatusLine(zone_name(tz), today["cost"], int(today["tokens"]), out, session_cost_usd)
