"""Daily use on a large store: what `memory tui` costs per pause in typing (its search asks
for facets and 100 results) against `memory search`'s own request (20 results, no facets),
and the preview of a hit; `memory timeline DAY` in UTC and in another zone; `memory site`
for one project now that it writes sub-agent pages. Baselines run in the same process: the
CLI's request for the TUI, and the code at --base-src (e.g. main's) for timeline and site.

    .venv/bin/python benchmarks/bench_daily.py --home COPY --base-src DIR --day 2026-01-15 \\
        --project dotfiles --workdir DIR

--home is a copy of a store (the search index takes a lock file in it). Prints Markdown and
appends a dated section to benchmarks/RESULTS.md (--no-append to skip)."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from common import append_results, machine, run_measured, table

MEMORY = [sys.executable, "-m", "coditect_memory"]
TYPED = "auth token refresh fails"


def _ms(xs: list[float]) -> str:
    xs = sorted(xs)
    return f"median {statistics.median(xs) * 1000:.1f} ms, max {xs[-1] * 1000:.1f} ms"


def typing(home: Path) -> list[tuple[str, str, str]]:
    """Every prefix of TYPED as the TUI searches it (after the debounce), and the CLI's."""
    from coditect_memory.actions.search import SearchRequest, search
    from coditect_memory.search.cache import SearchCache
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store
    from coditect_memory.timeutil import UTC
    from coditect_memory.tui import model

    settings = load_settings(home)
    prefixes = [TYPED[:i] for i in range(2, len(TYPED) + 1) if TYPED[i - 1] != " "]
    with open_store(settings, readonly=True) as store:
        cache = SearchCache()
        search(store, settings, SearchRequest(query="warm"), cache)  # index opened once
        tui, cli, preview = [], [], []
        for p in prefixes:
            t0 = time.perf_counter()
            res = search(store, settings, model.Query(text=p, tz=UTC).request(), cache)
            tui.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            search(store, settings, SearchRequest(query=p), cache)
            cli.append(time.perf_counter() - t0)
            hit = next((h for h in res.results if h["session_id"]), None)
            if hit:
                t0 = time.perf_counter()
                model.preview(hit, store.session_messages(hit["session_id"]), p, UTC)
                preview.append(time.perf_counter() - t0)
    n = f"{len(prefixes)} prefixes of '{TYPED}'"
    return [("`memory search` request (baseline: 20 results)", _ms(cli), n),
            ("`memory tui` request (100 results + facets)", _ms(tui), n),
            ("`memory tui` preview (session read + render)", _ms(preview), f"{len(preview)} hits")]


def timed(cmd: list[str], env: dict[str, str], runs: int = 3) -> str:
    walls = []
    for _ in range(runs):
        proc, wall, _ = run_measured(cmd, env)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr}")
        walls.append(wall)
    return f"median {statistics.median(walls):.2f} s of {runs}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--base-src", required=True, type=Path, help="the baseline's src/ folder")
    ap.add_argument("--day", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    env = {**os.environ, "MEMORY_HOME": str(args.home), "TZ": "UTC"}
    base = {**env, "PYTHONPATH": str(args.base_src)}
    args.workdir.mkdir(parents=True, exist_ok=True)

    rows = typing(args.home)
    tl = ["timeline", args.day, "--json"]
    rows += [("`timeline DAY` (baseline: before this change, UTC)", timed([*MEMORY, *tl], base), ""),
             ("`timeline DAY --timezone UTC`", timed([*MEMORY, *tl, "--timezone", "UTC"], env), ""),
             ("`timeline DAY --timezone Asia/Tokyo`",
              timed([*MEMORY, *tl, "--timezone", "Asia/Tokyo"], env), "")]
    for label, e in (("baseline: before this change", base), ("with sub-agent pages", env)):
        out = args.workdir / f"site-{len(rows)}"
        shutil.rmtree(out, ignore_errors=True)
        proc, wall, rss = run_measured([*MEMORY, "site", "--out", str(out), "--project",
                                        args.project, "--json"], e)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        files = sum(1 for _ in out.rglob("*.html"))
        rows.append((f"`site --project {args.project}` first build ({label})", f"{wall:.1f} s",
                     f"{files} pages, peak RSS {rss / 2**20:.0f} MiB"))
        shutil.rmtree(out, ignore_errors=True)
    m = machine()
    text = (f"`.venv/bin/python benchmarks/bench_daily.py --home {args.home} --base-src "
            f"{args.base_src} --day {args.day} --project {args.project} --workdir {args.workdir}`"
            f" on {m['cpu']}, {m['nproc']} cores, {m['ram']} RAM; "
            "other work was loading the machine (several helpers' test suites), so compare rows "
            "of this run only.\n\n" + table(rows, ("what", "time", "notes")))
    print(text)
    if not args.no_append:
        append_results("Daily use: the TUI's type-ahead, timeline in a zone, site with sub-agents", text)


if __name__ == "__main__":
    main()
