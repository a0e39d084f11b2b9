"""`report usage` by time zone, week, month and 5-hour block, and `memory statusline`, on a
large store, against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_usage.py --home /work/bench-daily2/h1m [--repeat 5]

HOME is a store (a copy: the first run may build its report rollups). Baselines: starting
`memory --version` (the floor of any command), `report usage --by day` in UTC (the stored
daily rollups). Measured: the same in a zone whose days are not UTC days and by week, month
and block (read from api_usage per slice of time); `memory statusline` as Claude Code runs
it (a process, JSON on stdin), and its action in-process at the store's busiest moment (the
store's data is older than today, so the process run finds an idle block).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import append_results, machine, table

ROOT = Path(__file__).resolve().parent.parent
STDIN = json.dumps({"session_id": "x", "model": {"id": "claude-opus-4-6", "display_name": "Opus"},
                    "cost": {"total_cost_usd": 1.0}})


def timed(args: list[str], home: Path, repeat: int, stdin: str | None = None) -> float:
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "coditect_memory", *args], env=env, input=stdin,
                           capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if p.returncode:
            raise SystemExit(f"memory {' '.join(args)} failed: {p.stderr}")
    return statistics.median(times)


def in_process_statusline(home: Path, repeat: int) -> tuple[float, int]:
    """The statusline action at the busiest minute of the store, median ms; its API rows."""
    os.environ["MEMORY_HOME"] = str(home)
    from coditect_memory.actions.reports import statusline
    from coditect_memory.settings import load_settings
    from coditect_memory.store import open_store
    from coditect_memory.store.protocol.reports import Where

    settings = load_settings()
    with open_store(settings, readonly=True) as store:
        slices = store.usage_times(Where(), 3_600_000)
        busiest = max(slices, key=lambda r: r["responses"])["key"] + 3_000_000
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = statusline(store, settings, busiest, "UTC")
            times.append(time.perf_counter() - t0)
        assert out.block is not None, "the busiest hour has an active block"
    return statistics.median(times) * 1000, len(slices)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    timed(["report", "usage", "--json"], a.home, 1)  # builds rollups if the copy lacks them
    rows = [("`memory --version` (baseline: startup)", timed(["--version"], a.home, a.repeat))]
    usage = ["report", "usage", "--json"]
    rows.append(("usage --by day, UTC (baseline: stored rollups)",
                 timed([*usage, "--timezone", "UTC"], a.home, a.repeat)))
    for label, extra in (("usage --by day --timezone Asia/Kolkata", ["--timezone", "Asia/Kolkata"]),
                         ("usage --by week", ["--by", "week", "--timezone", "UTC"]),
                         ("usage --by month", ["--by", "month", "--timezone", "UTC"]),
                         ("usage --by block", ["--by", "block"])):
        rows.append((label, timed([*usage, *extra], a.home, a.repeat)))
    rows.append(("`memory statusline` (process, JSON on stdin)",
                 timed(["statusline"], a.home, a.repeat * 2, STDIN)))
    action_ms, hours = in_process_statusline(a.home, a.repeat * 4)
    body = table([(label, f"{s * 1000:.0f} ms") for label, s in rows], ("what", "median"))
    m = machine()
    text = (f"Machine: {m['nproc']} cores ({m['cpu']}), {m['ram']}, Python {m['python']}, "
            f"SQLite {m['sqlite']}, shared with other jobs. Store: {a.home} ({hours:,} hours with API responses). Median of "
            f"{a.repeat} runs per row (statusline: {a.repeat * 2}), each a fresh process.\n\n"
            f"{body}\n\n- statusline action in-process at the busiest hour of the store: "
            f"{action_ms:.1f} ms (median of {a.repeat * 4}).\n\nReproduce: "
            f"`.venv/bin/python benchmarks/bench_usage.py --home COPY_OF_A_STORE`")
    print(text)
    append_results("Usage by zone, week, month, block; statusline (bench_usage.py)", text)


if __name__ == "__main__":
    main()
