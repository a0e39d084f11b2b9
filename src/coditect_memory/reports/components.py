"""`component-usage`: which Claude Code features and tools a person relies on, and how
reliable each is (its error rows over its uses)."""

from __future__ import annotations

from typing import Any

from .builder import Context
from .model import Chart, Report, Table, col


def build(ctx: Context) -> Report:
    rows: list[dict[str, Any]] = []
    for r in ctx.store.report_component_usage(ctx.where):
        rows.append({
            "component": r["name"], "kind": r["kind"], "uses": r["uses"],
            "sessions": r["sessions"], "active_days": r["active_days"], "projects": r["projects"],
            "errors": r["errors"],
            "error_rate": round(100 * r["errors"] / r["uses"], 2) if r["uses"] else None,
        })
    columns = [col("component"), col("kind"), col("uses", "occurrences", "int"),
               col("sessions", fmt="int"), col("active_days", "days", "int", 3),
               col("projects", fmt="int", rank=3), col("errors", fmt="int"),
               col("error_rate", "error rate", "pct")]
    failing = sorted((r for r in rows if r["errors"]), key=lambda r: -(r["error_rate"] or 0))
    # tools and components (hooks fire on every tool call) each on their own scale
    tools = [r for r in rows if r["kind"] == "tool"][:25]
    parts = [r for r in rows if r["kind"] != "tool"][:25]
    charts = [
        Chart("Tool calls", "bars", [r["component"] for r in tools],
              [("occurrences", [r["uses"] for r in tools])], "int"),
        Chart("Components (hooks, MCP, commands, ...)", "bars", [r["component"] for r in parts],
              [("occurrences", [r["uses"] for r in parts])], "int"),
        Chart("Error rate of what fails", "bars",
              [r["component"] + (" (tool)" if r["kind"] == "tool" else "") for r in failing],
              [("error rate", [r["error_rate"] or 0 for r in failing])], "pct"),
    ]
    note = ("components come from debug logs and system/progress lines; tools from tool calls "
            "(occurrences = calls, errors = results marked as errors)")
    return Report("component-usage", "Components and tools", ctx.filters.describe(),
                  [Table("rows", "Components and tools", columns, rows, note=note)], charts,
                  summary=[("components", f"{sum(r['kind'] == 'component' for r in rows):,}"),
                           ("tools", f"{sum(r['kind'] == 'tool' for r in rows):,}")])
