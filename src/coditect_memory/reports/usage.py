"""`usage`: tokens and their cost at list prices, per day, model, project or session —
the question ccusage answers, over everything the store kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..store.protocol.reports import UsageKey
from .builder import Context
from .filters import day_name
from .model import Chart, Report, Table, col
from .prices import TOKEN_KEYS

BY = ("day", "model", "project", "session")
_TOKEN_COLS = [col("input_tokens", "input", "int", 3), col("output_tokens", "output", "int", 3),
               col("cache_read_tokens", "cache read", "int", 3),
               col("cache_write_tokens", "cache write", "int", 3),
               col("total_tokens", "total", "int"), col("cost_usd", "cost", "usd")]


def priced(ctx: Context, rows: Sequence[Mapping[str, Any]]
           ) -> tuple[dict[Any, dict[str, Any]], set[str]]:
    """Per-(key, model) usage rows summed per key, each model priced on its own; also the
    models with tokens but no price."""
    out: dict[Any, dict[str, Any]] = {}
    unpriced: set[str] = set()
    for r in rows:
        acc = out.setdefault(r["key"], {"responses": 0, **dict.fromkeys(TOKEN_KEYS, 0),
                                        "total_tokens": 0, "cost_usd": 0.0, "models": {}})
        tokens = sum(r[k] or 0 for k in TOKEN_KEYS)
        acc["responses"] += r["responses"]
        for k in TOKEN_KEYS:
            acc[k] += r[k] or 0
        acc["total_tokens"] += tokens
        cost = ctx.prices.cost(r["model"], r)
        if cost is None and tokens:
            unpriced.add(r["model"] or "(none)")
        acc["cost_usd"] += cost or 0.0
        if r["model"]:
            acc["models"][r["model"]] = acc["models"].get(r["model"], 0) + tokens
    for acc in out.values():
        acc["models"] = sorted(acc["models"], key=acc["models"].get, reverse=True)
    return out, unpriced


def _keyed(ctx: Context, by: UsageKey) -> tuple[list[dict[str, Any]], set[str]]:
    raw: Sequence[Mapping[str, Any]]
    if by == "model":
        raw = [{**r, "key": r["model"]} for r in ctx.store.report_usage(ctx.where, "model")]
    else:
        raw = ctx.store.report_usage(ctx.where, by)
    sums, unpriced = priced(ctx, raw)
    rows: list[dict[str, Any]] = []
    if by == "day":
        for key, acc in sums.items():
            rows.append({"date": day_name(key), **acc})
    elif by == "model":
        for key, acc in sums.items():
            acc.pop("models")
            rows.append({"model": key, **acc})
        rows.sort(key=lambda r: -r["cost_usd"])
    elif by == "project":
        names = {p["id"]: p for p in ctx.store.report_projects()}
        for key, acc in sums.items():
            p = names.get(key)
            rows.append({"project": p and p["path"], "project_name": p and p["name"], **acc})
        rows.sort(key=lambda r: -r["cost_usd"])
    else:
        rows = [{"session_id": key, **acc} for key, acc in sums.items()]
        _session_details(ctx, rows)
        rows.sort(key=lambda r: -r["cost_usd"])
    return rows, unpriced


def _session_details(ctx: Context, rows: list[dict[str, Any]]) -> None:
    """Title, project and start of each session row."""
    known = {s["session_id"]: s for s in ctx.store.sessions(None, 1 << 40)}
    for r in rows:
        s: Mapping[str, Any] = known.get(r["session_id"]) or {}
        r["project"], r["title"], r["started_at"] = s.get("project"), s.get("title"), s.get("started_at")


def build(ctx: Context) -> Report:
    by = ctx.options.by
    rows, unpriced = _keyed(ctx, by)
    totals, more = priced(ctx, [{**r, "key": None}
                                for r in ctx.store.report_usage(ctx.where, "model")])
    unpriced |= more
    total = totals.get(None) or {"responses": 0, **dict.fromkeys(TOKEN_KEYS, 0),
                                 "total_tokens": 0, "cost_usd": 0.0, "models": []}
    lead = {"day": [col("date")], "model": [col("model")],
            "project": [col("project_name", "project")],
            "session": [col("session_id", "session"), col("project"), col("title")]}[by]
    models = [] if by == "model" else [col("models", "models", "list")]
    table = Table("rows", f"Tokens per {by}", [*lead, col("responses", "API responses", "int"),
                                               *_TOKEN_COLS, *models], rows)
    charts = _charts(ctx, rows, by) if ctx.charts else []
    summary = [("total cost (list prices)", f"${total['cost_usd']:,.2f}"),
               ("tokens", f"{total['total_tokens']:,}"), ("API responses", f"{total['responses']:,}")]
    if unpriced:
        summary.append(("models without a price", ", ".join(sorted(unpriced))))
    return Report("usage", "Token usage and cost", ctx.filters.describe(), [table], charts,
                  meta={"by": by, "totals": total, "unpriced_models": sorted(unpriced),
                        "currency": "USD"},
                  summary=summary)


def _charts(ctx: Context, rows: list[dict[str, Any]], by: str) -> list[Chart]:
    daily = rows if by == "day" else _keyed(ctx, "day")[0]
    per_model = rows if by == "model" else _keyed(ctx, "model")[0]
    per_project = rows if by == "project" else _keyed(ctx, "project")[0]
    return [
        Chart("Cost per day (list prices)", "columns", [r["date"] for r in daily],
              [("cost", [r["cost_usd"] for r in daily])], "usd"),
        Chart("Cost by model", "bars", [r["model"] for r in per_model],
              [("cost", [r["cost_usd"] for r in per_model])], "usd"),
        Chart("Cost by project", "bars", [r["project_name"] or "(no project)" for r in per_project],
              [("cost", [r["cost_usd"] for r in per_project])], "usd"),
    ]


def project_tokens(ctx: Context) -> dict[Any, dict[str, Any]]:
    """Tokens and cost per project id (for project-activity)."""
    return priced(ctx, ctx.store.report_usage(ctx.where, "project"))[0]
