"""`error-analysis`: what keeps failing, where and since when, with samples grouped by what
the message says (debug errors, tool results marked as errors, failed commands, API errors).

The store groups error rows by a signature (the message with its numbers, ids, paths and
quoted values masked); this module picks the most frequent kinds of message per group and
fetches one example of each, with where it was read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from ..store.protocol.reports import ErrorSignatureRow
from ..timeutil import iso
from .builder import Context
from .filters import day_name
from .model import Chart, Report, Table, col

SAMPLES = 3
SAMPLE_CHARS = 300
TOP_MESSAGES = 50


def _example(e: Mapping[str, Any] | None) -> dict[str, Any]:
    if e is None:
        return {}
    return {"message": (e["content"] or "").strip()[:SAMPLE_CHARS], "session_id": e["session_id"],
            "timestamp": iso(e["ts"]), "source_file": e["source_file"], "source_line": e["source_line"],
            "uid": e["uid"]}


def load(ctx: Context, session_id: str | None = None) -> list[dict[str, Any]]:
    """Error rows with text (for one session, or a day); `component` is what they are about."""
    rows: list[dict[str, Any]] = []
    for e in ctx.store.report_errors(ctx.where, session_id):
        row: dict[str, Any] = {**e, "component": e["name"],
                               "project_name": e["project_name"] or "(no project)"}
        del row["name"]
        rows.append(row)
    return rows


def build(ctx: Context) -> Report:
    groups = ctx.store.report_error_groups(ctx.where)
    sigs = ctx.store.report_error_signatures(ctx.where)
    per_group: dict[tuple, list[ErrorSignatureRow]] = defaultdict(list)
    for s in sigs:
        per_group[(s["kind"], s["name"], s["project_id"])].append(s)  # most frequent first
    overall: dict[str, dict[str, Any]] = {}
    for s in sigs:
        o = overall.setdefault(s["signature"], {"signature": s["signature"], "errors": 0,
                                                "components": {}, "sample_id": s["sample_id"],
                                                "last_ts": s["last_ts"]})
        o["errors"] += s["errors"]
        o["components"][s["name"]] = o["components"].get(s["name"], 0) + s["errors"]
        o["sample_id"] = min(o["sample_id"], s["sample_id"])
        o["last_ts"] = max(filter(None, (o["last_ts"], s["last_ts"])), default=None)
    top = sorted(overall.values(), key=lambda o: -o["errors"])[:TOP_MESSAGES]
    wanted = {s["sample_id"] for g in per_group.values() for s in g[:SAMPLES]}
    wanted |= {o["sample_id"] for o in top}
    examples = ({e["message_id"]: e for e in ctx.store.report_errors(ctx.where, ids=sorted(wanted))}
                if wanted else {})
    rows = []
    for g in groups:
        mine = per_group.get((g["kind"], g["name"], g["project_id"]), [])
        rows.append({
            "component": g["name"], "kind": g["kind"], "project": g["project"],
            "project_name": g["project_name"] or "(no project)", "errors": g["errors"],
            "sessions": g["sessions"], "days": g["days"], "first_seen": iso(g["first_ts"]),
            "last_seen": iso(g["last_ts"]), "kinds_of_message": g["signatures"],
            "samples": [{"signature": s["signature"], "count": s["errors"],
                         **_example(examples.get(s["sample_id"]))} for s in mine[:SAMPLES]],
        })
    messages = [{"signature": o["signature"], "errors": o["errors"],
                 "components": dict(sorted(o["components"].items(), key=lambda kv: -kv[1])),
                 "last_seen": iso(o["last_ts"]), "example": _example(examples.get(o["sample_id"]))}
                for o in top]
    by_component = _by_component(rows)
    spread = [col("errors", fmt="int"), col("sessions", fmt="int"), col("days", fmt="int"),
              col("first_seen", "first", "time"), col("last_seen", "last", "time")]
    tables = [
        Table("rows", "Errors by component and project",
              [col("component"), col("kind"), col("project_name", "project"), *spread,
               col("samples", "most frequent message", "samples")], rows),
        Table("by_component", "Errors by component", [col("component"), col("kind"),
              col("errors", fmt="int"), col("projects", fmt="int")], by_component),
        Table("messages", "Most frequent error messages",
              [col("signature", "message (normalised)"), col("errors", fmt="int"),
               col("components", fmt="names"), col("last_seen", "last", "time")], messages),
    ]
    daily = ctx.store.report_daily(ctx.where) if ctx.charts else []
    charts = [
        Chart("Errors by component", "bars", [r["component"] for r in by_component],
              [("errors", [r["errors"] for r in by_component])], "int"),
        Chart("Errors per day", "columns", [day_name(d["day"]) for d in daily],
              [("errors", [d["errors"] for d in daily])], "int"),
    ]
    total = sum(g["errors"] for g in groups)
    return Report("error-analysis", "Error analysis", ctx.filters.describe(), tables, charts,
                  summary=[("errors", f"{total:,}"), ("kinds of message", f"{len(overall):,}")])


def _by_component(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    acc: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        a = acc.setdefault((r["component"], r["kind"]), {"component": r["component"],
                                                          "kind": r["kind"], "errors": 0, "projects": 0})
        a["errors"] += r["errors"]
        a["projects"] += 1
    return sorted(acc.values(), key=lambda a: -a["errors"])


