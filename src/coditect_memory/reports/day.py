"""`memory timeline DAY|RANGE`: "what was I doing on Nov 15?" — the sessions of each day in
order, with their titles, first prompts, projects, tools and errors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ..store.protocol.reports import PromptRow
from ..timeutil import is_utc, iso, local, zone_name
from .activity import hours
from .builder import Context
from .error_analysis import load
from .filters import DAY_MS, day_name

PROMPTS_SHOWN = 5


def _noise(text: str) -> bool:
    """Lines typed by the tool, not the person: interruption markers, command wrappers."""
    return text.lstrip().startswith(("[Request interrupted", "<", "Caveat:"))


def day_key(ctx: Context) -> Callable[[int], str]:
    """A stored day (a UTC day number: the rollups' unit) as the date it is in --timezone.
    In UTC, itself; elsewhere, the local date of its middle, kept inside the range asked for
    (so a single local day, read from an exact table, gets every row of it)."""
    tz = ctx.filters.tz
    if is_utc(tz):
        return day_name
    lo, hi = ctx.filters.since, ctx.filters.until

    def key(d: int) -> str:
        ms = d * DAY_MS + DAY_MS // 2
        if lo is not None:
            ms = max(ms, lo)
        if hi is not None:
            ms = min(ms, hi - 1)
        return local(ms, tz).date().isoformat()

    return key


def _merge(row: dict[str, Any], more: dict[str, Any]) -> None:
    """Two stored days of one session that are one day in the zone asked for."""
    for k in ("messages", "prompts", "tool_calls", "errors"):
        row[k] += more[k]
    row["hours"] = round(row["hours"] + more["hours"], 2)
    row["from"], row["to"] = min(row["from"], more["from"]), max(row["to"], more["to"])
    row["prompts_said"] = (row["prompts_said"] + more["prompts_said"])[:PROMPTS_SHOWN]
    row["error_samples"] = (row["error_samples"] + more["error_samples"])[:3]
    for k in ("tools", "components"):
        for name, n in more[k].items():
            row[k][name] = row[k].get(name, 0) + n


def build(ctx: Context) -> dict[str, Any]:
    """{since, until, days: [{date, sessions: [...], ...}], rows: every session-day}; days
    are days in the filters' zone (--timezone), times stay ISO UTC."""
    store, where = ctx.store, ctx.where
    key = day_key(ctx)
    sessions = store.report_day_sessions(where)
    names: dict[tuple, dict[str, dict[str, int]]] = defaultdict(lambda: {"component": {}, "tool": {}})
    for n in store.report_day_session_names(where):
        names[(n["day"], n["session_id"])][n["kind"]][n["name"]] = n["uses"]
    prompts: dict[tuple, list[PromptRow]] = defaultdict(list)
    for p in store.report_prompts(sorted({s["session_id"] for s in sessions}), where.since,
                                  where.until):
        prompts[(p["ts"] // DAY_MS, p["session_id"])].append(p)
    errors: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for e in load(ctx):
        if e["ts"] is not None and e["session_id"]:
            errors[(e["ts"] // DAY_MS, e["session_id"])].append(e)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"messages": 0, "errors": 0})
    for t in store.report_daily(where):
        totals[key(t["day"])]["messages"] += t["messages"]
        totals[key(t["day"])]["errors"] += t["errors"]
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    days: dict[str, dict[str, Any]] = {}
    for s in sessions:
        stored = (s["day"], s["session_id"])
        said = prompts.get(stored, [])
        errs = errors.get(stored, [])
        date = key(s["day"])
        row: dict[str, Any] = {
            "date": date, "session_id": s["session_id"], "project": s["project"],
            "project_name": s["project_name"] or "(no project)", "title": s["title"],
            "first_prompt": s["first_prompt"], "git_branch": s["git_branch"], "model": s["model"],
            "from": iso(s["first_ts"]), "to": iso(s["last_ts"]), "hours": hours(s["active_ms"]),
            "session_started_at": iso(s["started_at"]), "messages": s["messages"],
            "prompts": s["prompts"], "tool_calls": s["tool_calls"], "errors": s["errors"],
            "prompts_said": [{"timestamp": iso(p["ts"]), "text": p["content"][:300]}
                             for p in said if not _noise(p["content"])][:PROMPTS_SHOWN],
            "tools": dict(names[stored]["tool"]), "components": dict(names[stored]["component"]),
            "error_samples": [{"timestamp": iso(e["ts"]), "component": e["component"],
                               "message": (e["content"] or "").strip()[:200]} for e in errs[:3]],
        }
        day = days.setdefault(date, {"date": date, "sessions": [], "hours": 0.0,
                                            "messages": 0, "errors": 0, "projects": []})
        day["hours"] = round(day["hours"] + row["hours"], 2)
        same = seen.get((date, s["session_id"]))
        if same is not None:
            _merge(same, row)
            continue
        seen[(date, s["session_id"])] = row
        rows.append(row)
        day["sessions"].append(row)
        if row["project_name"] not in day["projects"]:
            day["projects"].append(row["project_name"])
    for d, day in days.items():
        total = totals.get(d)
        day["messages"], day["errors"] = (total["messages"], total["errors"]) if total else (0, 0)
        day["outside_sessions"] = day["messages"] - sum(s["messages"] for s in day["sessions"])
    return {"since": iso(ctx.filters.since), "until": iso(ctx.filters.until),
            "project": ctx.filters.project, "timezone": zone_name(ctx.filters.tz),
            "days": [days[d] for d in sorted(days)], "rows": rows}
