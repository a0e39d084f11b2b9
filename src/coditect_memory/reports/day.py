"""`memory timeline DAY|RANGE`: "what was I doing on Nov 15?" — the sessions of each day in
order, with their titles, first prompts, projects, tools and errors."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..store.protocol.reports import PromptRow
from ..timeutil import iso
from .activity import hours
from .builder import Context
from .error_analysis import load
from .filters import DAY_MS, day_name

PROMPTS_SHOWN = 5


def _noise(text: str) -> bool:
    """Lines typed by the tool, not the person: interruption markers, command wrappers."""
    return text.lstrip().startswith(("[Request interrupted", "<", "Caveat:"))


def build(ctx: Context) -> dict[str, Any]:
    """{since, until, days: [{date, sessions: [...], ...}], rows: every session-day}."""
    store, where = ctx.store, ctx.where
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
    totals = {r["day"]: r for r in store.report_daily(where)}
    rows: list[dict[str, Any]] = []
    days: dict[int, dict[str, Any]] = {}
    for s in sessions:
        key = (s["day"], s["session_id"])
        said = prompts.get(key, [])
        errs = errors.get(key, [])
        row = {
            "date": day_name(s["day"]), "session_id": s["session_id"], "project": s["project"],
            "project_name": s["project_name"] or "(no project)", "title": s["title"],
            "first_prompt": s["first_prompt"], "git_branch": s["git_branch"], "model": s["model"],
            "from": iso(s["first_ts"]), "to": iso(s["last_ts"]), "hours": hours(s["active_ms"]),
            "session_started_at": iso(s["started_at"]), "messages": s["messages"],
            "prompts": s["prompts"], "tool_calls": s["tool_calls"], "errors": s["errors"],
            "prompts_said": [{"timestamp": iso(p["ts"]), "text": p["content"][:300]}
                             for p in said if not _noise(p["content"])][:PROMPTS_SHOWN],
            "tools": names[key]["tool"], "components": names[key]["component"],
            "error_samples": [{"timestamp": iso(e["ts"]), "component": e["component"],
                               "message": (e["content"] or "").strip()[:200]} for e in errs[:3]],
        }
        rows.append(row)
        day = days.setdefault(s["day"], {"date": row["date"], "sessions": [], "hours": 0.0,
                                         "messages": 0, "errors": 0, "projects": []})
        day["sessions"].append(row)
        day["hours"] = round(day["hours"] + row["hours"], 2)
        if row["project_name"] not in day["projects"]:
            day["projects"].append(row["project_name"])
    for d, day in days.items():
        t = totals.get(d)
        day["messages"], day["errors"] = (t["messages"], t["errors"]) if t else (0, 0)
        day["outside_sessions"] = day["messages"] - sum(s["messages"] for s in day["sessions"])
    return {"since": iso(ctx.filters.since), "until": iso(ctx.filters.until),
            "project": ctx.filters.project, "days": [days[d] for d in sorted(days)], "rows": rows}
