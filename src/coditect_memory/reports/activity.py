"""`project-activity` and `timeline`: where the time went, per project and per day."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..timeutil import iso
from .builder import Context
from .filters import DAY_MS, day_name
from .model import Chart, Report, Table, col
from .prices import TOKEN_KEYS
from .usage import project_tokens

HOUR_MS = 3_600_000
TOP = 8  # projects drawn as their own series; the rest are summed as "other"


def hours(ms: int | None) -> float:
    return round((ms or 0) / HOUR_MS, 2)


def project_activity(ctx: Context) -> Report:
    tokens = project_tokens(ctx)
    rows = []
    for r in ctx.store.report_project_activity(ctx.where):
        t = tokens.get(r["project_id"], {})
        rows.append({
            "project": r["project"], "project_name": r["project_name"] or "(no project)",
            "sessions": r["sessions"], "messages": r["messages"], "prompts": r["prompts"],
            "errors": r["errors"], "tool_calls": r["tool_calls"],
            **{k: t.get(k, 0) for k in TOKEN_KEYS},
            "total_tokens": t.get("total_tokens", 0), "cost_usd": t.get("cost_usd", 0.0),
            "first_activity": iso(r["first_ts"]), "last_activity": iso(r["last_ts"]),
            "active_days": r["active_days"], "hours": hours(r["active_ms"]),
        })
    columns = [col("project_name", "project"), col("sessions", fmt="int"), col("messages", fmt="int"),
               col("prompts", fmt="int"), col("errors", fmt="int"),
               col("total_tokens", "tokens", "int"), col("cost_usd", "cost", "usd"),
               col("first_activity", "first", "time", 3), col("last_activity", "last", "time"),
               col("active_days", "days", "int"), col("hours", "hours", "hours")]
    total_h = sum(r["hours"] for r in rows)
    summary = [("projects", f"{len(rows):,}"), ("hours of activity", f"{total_h:,.1f}"),
               ("messages", f"{sum(r['messages'] for r in rows):,}"),
               ("errors", f"{sum(r['errors'] for r in rows):,}")]
    charts = [_daily_chart(ctx),
              Chart("Hours of activity by project", "bars", [r["project_name"] for r in rows],
                    [("hours", [r["hours"] for r in rows])], "hours"),
              _component_chart(ctx)] if ctx.charts else []
    return Report("project-activity", "Activity per project", ctx.filters.describe(),
                  [Table("rows", "Projects", columns, rows,
                         note="hours: sum of session spans, idle gaps over 30 min cut")],
                  charts, summary=summary)


def _daily_chart(ctx: Context) -> Chart:
    days = ctx.store.report_daily(ctx.where)
    return Chart("Activity over time (hours per day)", "columns", [day_name(d["day"]) for d in days],
                 [("hours", [hours(d["active_ms"]) for d in days])], "hours")


def _component_chart(ctx: Context) -> Chart:
    # tools only: hooks fire on every tool call and would dwarf them (component-usage has both)
    rows = [r for r in ctx.store.report_component_usage(ctx.where) if r["kind"] == "tool"][:20]
    return Chart("Most used tools", "bars", [r["name"] for r in rows],
                 [("uses", [r["uses"] for r in rows])], "int")


def timeline(ctx: Context) -> Report:
    names: dict[tuple, dict[str, dict[str, int]]] = defaultdict(lambda: {"component": {}, "tool": {}})
    for n in ctx.store.report_timeline_names(ctx.where):
        names[(n["day"], n["project_id"])][n["kind"]][n["name"]] = n["uses"]
    titles: dict[tuple, list[str]] = defaultdict(list)
    started: dict[tuple, int] = defaultdict(int)
    for s in ctx.store.report_day_sessions(ctx.where):
        key = (s["day"], s["project_id"])
        titles[key].append(s["title"] or s["session_id"][:8])
        if s["started_at"] is not None and s["started_at"] // DAY_MS == s["day"]:
            started[key] += 1
    rows: list[dict[str, Any]] = []
    for r in ctx.store.report_timeline(ctx.where):
        key = (r["day"], r["project_id"])
        rows.append({
            "date": day_name(r["day"]), "project": r["project"],
            "project_name": r["project_name"] or "(no project)",
            "sessions": r["sessions"], "sessions_started": started.get(key, 0),
            "messages": r["messages"], "prompts": r["prompts"], "errors": r["errors"],
            "tool_calls": r["tool_calls"], "hours": hours(r["active_ms"]),
            "first_activity": iso(r["first_ts"]), "last_activity": iso(r["last_ts"]),
            "components": names[key]["component"], "tools": names[key]["tool"],
            "titles": titles.get(key, []),
        })
    columns = [col("date"), col("project_name", "project"), col("sessions", fmt="int"),
               col("messages", fmt="int"), col("prompts", fmt="int"), col("errors", fmt="int"),
               col("hours", fmt="hours"), col("tools", fmt="names"),
               col("components", fmt="names"), col("titles", fmt="list")]
    return Report("timeline", "Timeline: per day and project", ctx.filters.describe(),
                  [Table("rows", "Days", columns, rows)], _timeline_charts(rows),
                  summary=[("days", f"{len({r['date'] for r in rows}):,}"),
                           ("hours of activity", f"{sum(r['hours'] for r in rows):,.1f}")])


def _timeline_charts(rows: list[dict[str, Any]]) -> list[Chart]:
    days = sorted({r["date"] for r in rows})
    index = {d: i for i, d in enumerate(days)}
    per_project: dict[str, float] = defaultdict(float)
    for r in rows:
        per_project[r["project_name"]] += r["hours"]
    top = sorted(per_project, key=lambda p: per_project[p], reverse=True)[:TOP]
    series = {p: [0.0] * len(days) for p in [*top, "other"]}
    errors: list[float] = [0] * len(days)
    for r in rows:
        name = r["project_name"] if r["project_name"] in top else "other"
        series[name][index[r["date"]]] += r["hours"]
        errors[index[r["date"]]] += r["errors"]
    if not any(series["other"]):
        series.pop("other")
    return [Chart("Hours per day, by project", "columns", days, list(series.items()), "hours"),
            Chart("Errors per day", "columns", days, [("errors", errors)], "int")]
