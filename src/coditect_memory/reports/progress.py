"""`extraction-progress`: every ingest run (when, what was read, new, duplicate, errors),
and how much of each source kind and file has been consumed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..timeutil import iso
from .builder import Context
from .model import Chart, Report, Table, col


def _pct(part: int, whole: int | None) -> float | None:
    return round(100 * part / whole, 2) if whole else (100.0 if whole == 0 else None)


def build(ctx: Context) -> Report:
    store, f = ctx.store, ctx.filters
    kinds: dict[int, dict[str, Any]] = defaultdict(dict)
    for k in store.report_run_kinds():
        kinds[k["run_id"]][k["kind"]] = {n: v for n, v in k.items() if n not in ("run_id", "kind")}
    issues: dict[int, dict[str, int]] = defaultdict(dict)
    for i in store.report_run_issues():
        issues[i["run_id"]][i["severity"]] = i["issues"]
    runs: list[dict[str, Any]] = []
    for r in store.report_runs():
        if f.since is not None and r["started_at"] < f.since:
            continue
        if f.until is not None and r["started_at"] >= f.until:
            continue
        secs = (r["finished_at"] - r["started_at"]) / 1000 if r["finished_at"] else None
        runs.append({**r, "started_at": iso(r["started_at"]), "finished_at": iso(r["finished_at"]),
                     "seconds": secs, "by_kind": kinds.get(r["run_id"], {}),
                     "issues": issues.get(r["run_id"], {})})
    by_kind: list[dict[str, Any]] = []
    for sk in store.report_source_kinds():
        by_kind.append({**sk, "coverage_pct": _pct(sk["bytes_consumed"], sk["bytes"])})
    files: list[dict[str, Any]] = []
    every = ctx.options.every
    for s in store.report_source_files(every):
        files.append({**s, "coverage_pct": _pct(s["bytes_consumed"], s["size"]),
                      "partial_tail": bool(s["partial_tail"]), "missing_since": iso(s["missing_since"])})
    tables = [
        Table("rows", "Runs", [col("run_id", "run", "int"), col("started_at", "started", "time"),
              col("status"), col("files_changed", "files read", "int"),
              col("bytes_read", "bytes read", "bytes"), col("messages_read", "read", "int"),
              col("messages_new", "new", "int"), col("duplicates", fmt="int"),
              col("errors", fmt="int"), col("seconds", fmt="float"), col("root")], runs),
        Table("by_kind", "Coverage per source kind", [col("kind"), col("files", fmt="int"),
              col("bytes", "size", "bytes"), col("bytes_consumed", "consumed", "bytes"),
              col("coverage_pct", "coverage", "pct"), col("messages", "rows stored", "int"),
              col("files_with_errors", "files with errors", "int"), col("errors", fmt="int"),
              col("partial", "still growing", "int"), col("missing", fmt="int")], by_kind),
        Table("files", "Every source file" if every else
              "Files not wholly read, with errors, growing or gone",
              [col("path"), col("kind"), col("size", fmt="bytes"),
               col("bytes_consumed", "consumed", "bytes"), col("coverage_pct", "coverage", "pct"),
               col("errors", fmt="int"), col("last_error", "last error")], files,
              note="" if every else "--all lists every file"),
    ]
    shown = [k for k in by_kind if k["kind"] not in ("unknown", "not_read")]
    charts = [
        Chart("Rows stored per run", "columns", [f"#{r['run_id']}" for r in runs],
              [("new", [r["messages_new"] for r in runs]),
               ("duplicates", [r["duplicates"] for r in runs])], "int"),
        Chart("Size per source kind (MB)", "bars", [k["kind"] for k in shown],
              [("MB", [round(k["bytes"] / 1e6, 2) for k in shown])], ""),
    ]
    total = sum(k["bytes"] for k in shown)
    done = sum(k["bytes_consumed"] for k in shown)
    summary = [("runs", f"{len(runs):,}"), ("last run", runs[-1]["started_at"] if runs else "—"),
               ("bytes consumed", f"{done:,} of {total:,} ({_pct(done, total) or 0:.2f} %)"),
               ("files with errors", f"{sum(k['files_with_errors'] for k in by_kind):,}")]
    return Report("extraction-progress", "Extraction progress", f.describe(), tables, charts,
                  summary=summary)
