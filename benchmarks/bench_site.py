"""`memory site` on a large store: the first build of one project's archive, the re-run that
finds nothing changed, and as baseline (same run) `memory report session ID --format html`,
the page each session costs.

    .venv/bin/python benchmarks/bench_site.py --home MEMORY_HOME --project dotfiles --workdir DIR

--home is a store to read (a copy: nothing is written to it). Prints a Markdown table and
appends a dated section to benchmarks/RESULTS.md (--no-append to skip)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

from common import append_results, run_measured, table

MEMORY = [sys.executable, "-m", "coditect_memory"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--project", required=True)
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--samples", type=int, default=5, help="session pages timed for the baseline")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    env = {**os.environ, "MEMORY_HOME": str(args.home)}
    out = args.workdir / "site"
    shutil.rmtree(out, ignore_errors=True)
    args.workdir.mkdir(parents=True, exist_ok=True)

    listed, _, _ = run_measured([*MEMORY, "sessions", "--project", args.project, "--limit",
                                 str(args.samples), "--json"], env)
    data = json.loads(listed.stdout)
    ids = [s["session_id"] for s in (data["sessions"] if isinstance(data, dict) else data)]
    page = []
    for sid in ids:
        _, wall, _ = run_measured([*MEMORY, "report", "session", sid, "--format", "html", "--out",
                                   str(args.workdir / "one.html")], env)
        page.append(wall)
    first, first_s, first_rss = run_measured([*MEMORY, "site", "--out", str(out), "--project",
                                              args.project, "--json"], env)
    again, again_s, _ = run_measured([*MEMORY, "site", "--out", str(out), "--project",
                                      args.project, "--json"], env)
    f, a = json.loads(first.stdout), json.loads(again.stdout)
    n = f["sessions"]
    rows = [
        ("`report session ID --format html` (baseline, one page)", f"median {statistics.median(page):.2f} s",
         f"x {n} = {statistics.median(page) * n:.0f} s"),
        (f"`site --project {args.project}` first run", f"{first_s:.1f} s ({f['written']} files)",
         f"{first_s / n * 1000:.0f} ms a session, peak RSS {first_rss / 2**20:.0f} MiB"),
        ("re-run, nothing changed", f"{again_s:.2f} s ({a['written']} written, {a['unchanged']} unchanged)", ""),
    ]
    text = (f"`.venv/bin/python benchmarks/bench_site.py --home {args.home} --project {args.project}"
            f" --workdir {args.workdir}`: {n} sessions of a 1M-message store.\n\n"
            + table(rows, ("what", "time", "note")))
    print(text)
    if not args.no_append:
        append_results("memory site (static archive)", text)


if __name__ == "__main__":
    main()
