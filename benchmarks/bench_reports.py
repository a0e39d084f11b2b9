"""Reports over a large store: each `memory report` under 1 s at 1M messages, and `usage` at
least as fast as ccusage over the same files.

    .venv/bin/python benchmarks/bench_reports.py --messages 1000000 --workdir /tmp/bench --keep
    .venv/bin/python benchmarks/bench_reports.py --data DIR --home MEMORY_HOME   # reuse both

1. generates a sample ~/.claude folder (or reuses --data) and ingests it (or reuses --home);
2. baselines measured in the same run: starting `memory --help`; one plain scan of the
   messages table (the floor of any report computed from rows); the first build of the
   report rollups (what a report computed from rows costs, paid once);
3. every report as a person runs it (`memory report NAME --json` in a subprocess, startup
   included, median of --repeat runs) with the rollups up to date; the same with bounds that
   are not whole days (partial days computed from rows); `memory timeline DAY`; the HTML
   format; the rollup refresh after an ingest that touched 1 % of the sessions;
4. ccusage (`ccusage daily --json --offline -z UTC`, CLAUDE_CONFIG_DIR=the data) against
   `memory report usage --json`, and `memory ingest` (unchanged data) + the report, when a
   ccusage binary is found (--ccusage PATH, or under WORKDIR/ccusage from
   `npm install --prefix WORKDIR/ccusage ccusage`);
5. prints a Markdown table and appends a dated section to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import append_results, dir_size, machine, run_measured, table

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.0
REPORTS = ("project-activity", "timeline", "component-usage", "error-analysis",
           "extraction-progress", "usage")


def memory(args: list[str], home: Path, repeat: int) -> tuple[float, subprocess.CompletedProcess]:
    """Median wall time of `memory ARGS` in a fresh process (what a person waits for)."""
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    times, proc = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "coditect_memory", *args], env=env,
                              capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"memory {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return statistics.median(times), proc


def reset_rollups(db_path: Path) -> None:
    db = sqlite3.connect(db_path)
    for t in ("report_state", "report_sessions", "report_days", "report_names", "report_usage",
              "report_errors"):
        db.execute(f"DELETE FROM {t}")
    db.commit()
    db.close()


def in_process(home: Path, fn) -> float:
    sys.path.insert(0, str(ROOT / "src"))
    from coditect_memory.store.sqlite.backend import SQLiteStore

    store = SQLiteStore(str(home / "memory.db"))
    try:
        t0 = time.perf_counter()
        fn(store)
        return time.perf_counter() - t0
    finally:
        store.close()


def stale_one_percent(store) -> None:
    """Forget the rollups of 1 % of the sessions, as an ingest touching them would."""
    ids = [r[0] for r in store.db.execute("SELECT session_id FROM report_sessions ORDER BY random()")]
    some = ids[: max(1, len(ids) // 100)]
    store.db.executemany("DELETE FROM report_sessions WHERE session_id = ?", [(i,) for i in some])


def find_ccusage(args, workdir: Path) -> str | None:
    for cand in (args.ccusage, workdir / "ccusage/node_modules/.bin/ccusage", shutil.which("ccusage")):
        if cand and Path(cand).exists():
            probe = subprocess.run([str(cand), "--version"], capture_output=True, text=True)
            if probe.returncode == 0:
                return str(cand)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--data", type=Path, help="an existing Claude folder (skips generating)")
    ap.add_argument("--home", type=Path, help="an existing MEMORY_HOME with --data ingested")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ccusage", help="path of the ccusage binary")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-reports-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        run(args, workdir)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: Path) -> None:
    from coditect_memory.sample import generate

    data = args.data or workdir / f"claude-{args.messages}-{args.seed}"
    if not data.is_dir():
        print(f"generating {args.messages:,} messages into {data} ...", file=sys.stderr)
        generate(data, messages=args.messages, seed=args.seed)
    home = args.home or workdir / "home-reports"
    db_path = home / "memory.db"
    if not db_path.exists():
        print("ingesting ...", file=sys.stderr)
        memory(["ingest", str(data), "--json"], home, 1)
    db = sqlite3.connect(db_path)
    n_rows = db.execute("SELECT max(id) FROM messages").fetchone()[0]
    n_sessions = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
    busiest = db.execute("SELECT date(started_at / 1000, 'unixepoch') FROM sessions"
                         " GROUP BY 1 ORDER BY sum(message_count) DESC LIMIT 1").fetchone()[0]
    span = db.execute("SELECT min(started_at), max(started_at) FROM sessions").fetchone()
    db.close()
    rows: list[tuple[str, str, str]] = []
    ok = lambda s: f"< {TARGET:.0f} s: " + ("yes" if s < TARGET else "**NO**")  # noqa: E731

    startup, _ = memory(["--help"], home, args.repeat)
    scan = in_process(home, lambda s: s.db.execute(
        "SELECT count(*), sum(is_error), sum(type = 'tool_use') FROM messages").fetchone())
    rows.append(("baseline: `memory --help` (process start)", f"{startup:.2f} s", ""))
    rows.append(("baseline: one scan of messages (floor of any report from rows)",
                 f"{scan:.2f} s", ""))
    print("first rollup build ...", file=sys.stderr)
    reset_rollups(db_path)
    cold, _ = memory(["report", "project-activity", "--json"], home, 1)
    rows.append(("baseline: `report project-activity` on a store without rollups (computed "
                 "from rows, nothing written)", f"{cold:.2f} s", ""))
    build = in_process(home, lambda s: s.refresh_reports())
    rows.append(("first rollup build (the first ingest does it)", f"{build:.2f} s",
                 "once per store"))
    noop = in_process(home, lambda s: s.refresh_reports())
    rows.append(("rollups up to date: the check every report makes", f"{noop * 1000:.0f} ms", ""))
    incr = in_process(home, lambda s: (stale_one_percent(s), s.refresh_reports()))
    rows.append(("refresh after an ingest touching 1 % of the sessions", f"{incr:.2f} s", ""))
    worst = 0.0
    for name in REPORTS:
        secs, proc = memory(["report", name, "--json"], home, args.repeat)
        worst = max(worst, secs)
        n = len(json.loads(proc.stdout)["rows"])
        rows.append((f"`memory report {name} --json`", f"{secs:.2f} s ({n:,} rows)", ok(secs)))
    db = sqlite3.connect(db_path)
    sid = db.execute("SELECT id FROM sessions ORDER BY message_count DESC LIMIT 1").fetchone()[0]
    db.close()
    secs, proc = memory(["report", "session", sid, "--json"], home, args.repeat)
    worst = max(worst, secs)
    rows.append(("`memory report session ID --json` (the longest session)",
                 f"{secs:.2f} s ({len(json.loads(proc.stdout)['rows']):,} messages)", ok(secs)))
    since = time.strftime("%Y-%m-%dT09:30:00Z", time.gmtime(span[0] / 1000 + 20 * 86400))
    until = time.strftime("%Y-%m-%dT17:45:00Z", time.gmtime(span[1] / 1000 - 20 * 86400))
    for name in ("project-activity", "usage", "error-analysis"):
        secs, _ = memory(["report", name, "--since", since, "--until", until, "--json"], home,
                         args.repeat)
        worst = max(worst, secs)
        rows.append((f"`report {name}` from {since} to {until} (partial days from rows)",
                     f"{secs:.2f} s", ok(secs)))
    secs, _ = memory(["timeline", busiest, "--json"], home, args.repeat)
    worst = max(worst, secs)
    rows.append((f"`memory timeline {busiest} --json` (busiest day)", f"{secs:.2f} s", ok(secs)))
    secs, proc = memory(["report", "timeline", "--format", "html"], home, args.repeat)
    worst = max(worst, secs)
    rows.append(("`memory report timeline --format html`",
                 f"{secs:.2f} s ({len(proc.stdout) / 1e6:.1f} MB, self-contained)", ok(secs)))
    rows.append(("slowest of the above", f"{worst:.2f} s", ok(worst)))
    rows += ccusage_rows(args, workdir, data, home)
    md = table(rows, ("measure", "value", "target"))
    print(md)
    if args.no_record:
        return
    m = machine()
    cmd = f".venv/bin/python benchmarks/bench_reports.py {' '.join(sys.argv[1:])}".strip()
    body = (f"Command: `{cmd}`\n\nMachine: {m['nproc']} cores ({m['cpu']}), {m['ram']} RAM, "
            f"{m['os']}, Python {m['python']}, SQLite {m['sqlite']}; shared with other test runs, "
            "so compare ratios within this section. Store: "
            f"{n_rows:,} rows, {n_sessions:,} sessions, {dir_size(home) / 1e9:.2f} GB. Times are "
            f"medians of {args.repeat} runs of a fresh process (startup included) unless said.\n\n"
            "Reports read rollups (migration 0002: per session and UTC day, kept up to date per "
            "session by `store/sqlite/rollups.py`), so their cost follows sessions x days, not "
            "messages; the first build reads every row once (the baseline: what a report "
            "computed from rows costs). Bounds that are not whole days add the partial days, "
            "computed from their rows. ccusage came from the npm registry (`npm install "
            "ccusage@20.0.24` in WORKDIR/ccusage; the latest, 20.0.26, has no linux-x64 native "
            "package published yet) and ran offline (its bundled prices).\n\n" + md + "\n")
    append_results(f"reports, {n_rows:,} rows", body)


def ccusage_rows(args, workdir: Path, data: Path, home: Path) -> list[tuple[str, str, str]]:
    binary = find_ccusage(args, workdir)
    if not binary:
        return [("ccusage", "not measured: no ccusage binary (npm install --prefix "
                 f"{workdir}/ccusage ccusage)", "")]
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(data)}
    cmd = [binary, "daily", "--json", "--offline", "-z", "UTC"]
    print("ccusage ...", file=sys.stderr)
    proc, cc_secs, cc_rss = run_measured(cmd, env)
    cc = json.loads(proc.stdout)["totals"]
    secs, mproc = memory(["report", "usage", "--json"], home, args.repeat)
    ours = json.loads(mproc.stdout)["totals"]
    again, _ = memory(["ingest", str(data), "--json"], home, 1)
    agree = all(ours[a] == cc[b] for a, b in (("input_tokens", "inputTokens"),
                                               ("output_tokens", "outputTokens"),
                                               ("cache_read_tokens", "cacheReadTokens"),
                                               ("cache_write_tokens", "cacheCreationTokens")))
    verdict = "as fast or faster: " + ("yes" if secs <= cc_secs else "**NO**")
    return [
        (f"{version}: `ccusage daily --json --offline -z UTC` (reads the files)",
         f"{cc_secs:.2f} s, peak RSS {cc_rss / 1e6:,.0f} MB", ""),
        ("`memory report usage --json` (reads the store)",
         f"{secs:.2f} s = {secs / cc_secs:.1%} of ccusage", verdict),
        ("`memory ingest` (unchanged files) + `memory report usage --json`",
         f"{again + secs:.2f} s = {(again + secs) / cc_secs:.1%} of ccusage", ""),
        ("same input, output, cache read, cache write tokens as ccusage",
         "yes" if agree else f"**NO**: {ours} vs {cc}", ""),
        ("total cost at list prices (ccusage / memory)",
         f"${cc['totalCost']:,.2f} / ${ours['cost_usd']:,.2f}", ""),
    ]


if __name__ == "__main__":
    main()
