"""Reports and the timeline: `memory report NAME` and `memory timeline DAY|RANGE`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import NotFound, UsageError
from ..reports import REPORTS, Options, Report, build, day_view
from ..reports import filters as flt
from ..settings import Settings
from ..store.base import Store
from ..store.protocol.reports import Where

__all__ = ["REPORTS", "DayView", "Options", "Report", "ReportFilters", "check", "report",
           "timeline"]


@dataclass(frozen=True)
class ReportFilters:
    """--since, --until (a day, a date-time, 7d, ...) and --project, as people write them."""

    since: str | None = None
    until: str | None = None
    project: str | None = None
    visible: tuple[int, ...] | None = None  # only these projects (a scoped API token); None: all


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
    return flt.make(filters.since, filters.until, filters.project, filters.visible)


@dataclass
class DayView:
    """What happened on each day of a range: sessions in order, with titles, prompts, tools
    and errors (`data` is the `memory timeline --json` shape)."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


def timeline(store: Store, settings: Settings, when: str | None = None,
             project: str | None = None, visible: tuple[int, ...] | None = None) -> DayView:
    """WHEN is a day or FROM..TO (days, both included); without one, the last day with
    activity (prompts or active time; any day with rows when none has)."""
    if when is None:
        days = store.report_daily(Where(project_ids=visible))
        worked = [d for d in days if d["prompts"] or d["active_ms"]] or days
        if not worked:
            raise NotFound("nothing recorded yet: run `memory ingest` first")
        when = flt.day_name(worked[-1]["day"])
    since, until = flt.parse_range(when)
    return DayView(day_view(store, flt.Filters(since, until, project, visible), settings))
