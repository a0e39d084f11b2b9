"""`usage`: tokens and their cost at list prices, per day, week, month, model, project,
session or 5-hour billing block — the questions ccusage answers, over everything the store
kept. Days, weeks and months begin in the filters' time zone."""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import date, timedelta, tzinfo
from typing import Any

from ..timeutil import is_utc, iso, local, zone_name
from .builder import Context, UsageBy
from .filters import day_name
from .model import Chart, Report, Table, col
from .prices import TOKEN_KEYS

BY = ("day", "week", "month", "session", "model", "project", "block")
BLOCK_MS = 5 * 3_600_000  # Claude's billing window: 5 hours from the first message's hour
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
QUARTER_MS = 900_000  # every time zone's offset is a multiple of 15 minutes
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


def period(day: date, by: str) -> str:
    """The day, ISO week (its Monday) or month a day belongs to, as a row's label."""
    if by == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    return day.isoformat()[:7] if by == "month" else day.isoformat()


def blocks(times: Sequence[int], now: int | None = None) -> list[dict[str, Any]]:
    """5-hour billing blocks as ccusage cuts them, from the (sorted) times of responses: a
    block starts at its first response's hour (floored) and lasts 5 h; a response after the
    block's end, or 5 h or more after the previous one, starts a new block. Each block:
    start, end, first, last (epoch ms) and whether it is active at `now`."""
    out: list[dict[str, Any]] = []
    for t in times:
        cur = out[-1] if out else None
        if cur is None or t >= cur["end"] or t - cur["last"] >= BLOCK_MS:
            start = t - t % HOUR_MS
            out.append({"start": start, "end": start + BLOCK_MS, "first": t, "last": t})
        else:
            out[-1]["last"] = t
    for b in out:
        b["active"] = now is not None and now < b["end"] and now - b["last"] < BLOCK_MS
    return out


def _timed(ctx: Context, by: str) -> list[dict[str, Any]]:
    """Rows per day/week/month in the filters' zone, or per billing block, from usage per
    slice of time."""
    tz: tzinfo = ctx.filters.tz
    if by != "block":
        raw = ctx.store.usage_times(ctx.where, QUARTER_MS)
        keyed = [{**r, "key": period(local(r["key"], tz).date(), by)} for r in raw]
        sums, _ = priced(ctx, keyed)
        label = "date" if by == "day" else by
        return [{label: key, **acc} for key, acc in sums.items()]
    raw = ctx.store.usage_times(ctx.where, MINUTE_MS)
    cut = blocks(sorted({r["key"] for r in raw}), int(time.time() * 1000))
    firsts = [b["first"] for b in cut]
    rows = [{**r, "key": bisect_right(firsts, r["key"]) - 1} for r in raw]
    sums, _ = priced(ctx, rows)
    return [{"block_start": iso(b["start"]), "block_end": iso(b["end"]),
             "last_activity": iso(b["last"]), "active": b["active"], **sums[i]}
            for i, b in enumerate(cut)]


def _keyed(ctx: Context, by: UsageBy) -> tuple[list[dict[str, Any]], set[str]]:
    raw: Sequence[Mapping[str, Any]]
    if by in ("week", "month", "block") or (by == "day" and not is_utc(ctx.filters.tz)):
        return _timed(ctx, by), _unpriced(ctx)
    if by == "model":
        raw = [{**r, "key": r["model"]} for r in ctx.store.report_usage(ctx.where, "model")]
    else:
        raw = ctx.store.report_usage(ctx.where, by)  # type: ignore[arg-type]  # the stored keys
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


def _unpriced(ctx: Context) -> set[str]:
    """Models with tokens but no price (the timed rows are summed over models already)."""
    return priced(ctx, ctx.store.report_usage(ctx.where, "model"))[1]


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
    lead = {"day": [col("date", fmt="date")], "week": [col("week", "week of", "date")],
            "month": [col("month", fmt="date")],
            "block": [col("block_start", "block start (UTC)", "time"), col("last_activity", "last", "time"),
                      col("active", "active", "bool")],
            "model": [col("model")],
            "project": [col("project_name", "project")],
            "session": [col("session_id", "session"), col("project"), col("title")]}[by]
    models = [] if by == "model" else [col("models", "models", "list")]
    table = Table("rows", f"Tokens per {by}", [*lead, col("responses", "API responses", "int"),
                                               *_TOKEN_COLS, *models], rows,
                  totals={**total, lead[0].key: "total"})
    charts = _charts(ctx, rows, by) if ctx.charts else []
    summary = [("total cost (list prices)", f"${total['cost_usd']:,.2f}"),
               ("tokens", f"{total['total_tokens']:,}"), ("API responses", f"{total['responses']:,}")]
    if unpriced:
        summary.append(("models without a price", ", ".join(sorted(unpriced))))
    return Report("usage", "Token usage and cost", ctx.filters.describe(), [table], charts,
                  meta={"by": by, "timezone": zone_name(ctx.filters.tz), "totals": total, "unpriced_models": sorted(unpriced),
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
