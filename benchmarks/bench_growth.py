"""How cost grows with size on the default SQLite store (issue 18, item 5).

    .venv/bin/python benchmarks/bench_growth.py /work/bench/claude-1000000-7 \
        /work/bench-pg/claude-1000000-8 /work/bench-pg/claude-1000000-9 --workdir /work/bench-growth

Ingests each folder in turn into one SQLite store (each folder is another machine's history:
new rows), and at each size measures the step's ingest rate, the store's size on disk (the
database, its WAL and the keyword index), keyword search latency (`took_ms` of `memory search
--json` in a fresh process, one or two terms and ten-word questions), `memory status` and
every report's wall time. PostgreSQL's curve is bench_postgres.py's `--grow`; the two are
read together in RESULTS.md. Appends a dated section to RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_postgres import QUERIES, REPORTS, memory, pct  # noqa: E402
from common import append_results, dir_size, machine, step_folders, table  # noqa: E402

QUESTIONS = ["what did we decide about the auth token refresh and the retry policy",
             "why does the alembic migration fail on the staging database after the upgrade",
             "which library did I pick for the PDF export of the monthly invoices"]


def latencies(env: dict[str, str], queries: list[str], rounds: int) -> tuple[float, float]:
    lat = []
    for _ in range(rounds):
        for q in queries:
            _, res = memory(env, "search", q, "--mode", "keyword", "--json")
            assert isinstance(res, dict)
            lat.append(res["took_ms"])
    return statistics.median(lat), pct(lat, 0.95)


def step(env: dict[str, str], home: Path, src: Path, rounds: int) -> dict:
    took, ing = memory(env, "ingest", str(src), "--json")
    assert isinstance(ing, dict)
    status_s, st = memory(env, "status", "--json")
    assert isinstance(st, dict)
    index_s, _ = memory(env, "search", "warm the index", "--mode", "keyword", "--json")
    row = {"source": str(src), "new": ing["messages_new"], "ingest_s": took,
           "rate": ing["messages_new"] / took, "rows": st["messages"], "status_s": status_s,
           "index_s": index_s, "bytes": dir_size(home)}
    row["kw_p50"], row["kw_p95"] = latencies(env, QUERIES, rounds)
    row["q_p50"], row["q_p95"] = latencies(env, QUESTIONS, rounds)
    row["reports"] = {" ".join(r): memory(env, *r, "--json")[0] for r in REPORTS}
    print(row, flush=True)
    return row


def measure_again(home: Path, rounds: int) -> None:
    """The reads of a step, again, on a store the run left (nothing is written)."""
    env = {**{k: v for k, v in os.environ.items() if k != "MEMORY_DATABASE_URL"},
           "MEMORY_HOME": str(home)}

    def median3(*argv: str) -> float:
        return statistics.median(memory(env, *argv, "--json")[0] for _ in range(3))

    out = {"kw": latencies(env, QUERIES, rounds), "q": latencies(env, QUESTIONS, rounds),
           "status": median3("status"), "reports": {" ".join(r): median3(*r) for r in REPORTS}}
    print(json.dumps(out, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sources", type=Path, nargs="*", help="folders ingested in turn, one step each")
    ap.add_argument("--seeds", type=int, nargs="*", default=[],
                    help="then one step per seed: a folder generated with `memory sample`, ingested,"
                    " measured and deleted (the disk holds one folder at a time)")
    ap.add_argument("--messages", type=int, default=1_000_000,
                    help="transcript messages of each generated folder")
    ap.add_argument("--workdir", type=Path, default=Path("/work/bench-growth"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--measure", type=Path, metavar="HOME",
                    help="only measure the store at HOME again (e.g. the last step's, on a quieter"
                    " machine): searches, status and reports, medians of 3 whole commands")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    if args.measure:
        measure_again(args.measure, args.rounds)
        return
    home = args.workdir / "home"
    shutil.rmtree(args.workdir, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**{k: v for k, v in os.environ.items() if k != "MEMORY_DATABASE_URL"},
           "MEMORY_HOME": str(home)}
    input_bytes = 0
    started = time.time()
    rows = []
    for src, size in step_folders(args.sources, args.seeds, args.messages, args.workdir):
        input_bytes += size
        row = step(env, home, src, args.rounds)
        row["input"] = input_bytes
        rows.append(row)
    out = [(f"{r['rows']:,}", f"{r['new']:,} in {r['ingest_s']:.0f} s", f"{r['rate']:,.0f}/s",
            f"{r['bytes'] / 1e6:,.0f} MB ({r['bytes'] / r['input']:.0%} of input)",
            f"{r['index_s']:.1f} s", f"{r['kw_p50']:.1f} / {r['kw_p95']:.1f} ms",
            f"{r['q_p50']:.1f} / {r['q_p95']:.1f} ms", f"{r['status_s']:.2f} s",
            "{1:.2f} s ({0})".format(*max(r["reports"].items(), key=lambda kv: kv[1])))
           for r in rows]
    body = "\n".join([
        f"`.venv/bin/python benchmarks/bench_growth.py {' '.join(map(str, args.sources))}"
        + (f" --seeds {' '.join(map(str, args.seeds))} --messages {args.messages}" if args.seeds else "")
        + "` on"
        f" {', '.join(f'{k}: {v}' for k, v in machine().items())}; {time.time() - started:.0f} s"
        " in all.", "",
        "Each step ingests one more generated 1M-message folder (another machine's history) into"
        " the same SQLite store; size = the database, its WAL and the keyword index; the index"
        " is brought up to date by the first search after the ingest (its time shown);"
        f" searches: {args.rounds} rounds, `took_ms` in fresh processes; status and reports: wall"
        " time of the whole command.", "",
        table(out, ("rows stored", "step", "rate", "store size", "index catch-up",
                    "keyword 1-2 terms p50 / p95", "ten-word question p50 / p95", "status",
                    "slowest report"))])
    print(body)
    if not args.no_record:
        append_results("Growth on SQLite (issue 18, item 5)", body)


if __name__ == "__main__":
    main()
