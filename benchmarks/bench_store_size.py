"""Store size by object, ingest CPU and read latency, this code against another source tree,
in one run (issue 18, item 1: the store plus every index at most 0.75x the input).

    .venv/bin/python benchmarks/bench_store_size.py --messages 150000 --before SRC --workdir W

1. generates a sample ~/.claude folder (reused from W when there);
2. `memory ingest` into a fresh store with the code in SRC (before) and with this tree
   (after), alternated `--rounds` times: wall time, CPU seconds (user + system of the
   child), peak RSS;
3. the last stores of each side: bytes per table and index (SQLite's dbstat), the store
   file and the keyword index against the input's bytes;
4. `show session` (the largest, and one of ~500 messages), a search, usage by session, the
   sessions list and a search since a date, each a fresh process, before and after
   alternated (bench_ingest.reads): same output, latency.
Prints Markdown; `--record` appends it to RESULTS.md.
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
import time
from pathlib import Path

import orjson

from bench_ingest import mb, reads, store_split
from common import append_results, dir_size, table

ROOT = Path(__file__).resolve().parent.parent
# Reads of what this changes touch (api_usage's session ids, the keyword index's
# time filter), beside bench_ingest.reads' `show session` and search.
MORE_READS = (
    ("report usage --by session", ("report", "usage", "--by", "session", "--json")),
    ("sessions --limit 500", ("sessions", "--limit", "500", "--json")),
    ("search 'retry backoff' --since 2025-06-01", ("search", "retry backoff", "--since", "2025-06-01",
                                                  "--limit", "50", "--json")),
)


def ingest(data: Path, home: Path, src: Path | None) -> dict:
    """A first ingest in a fresh process: wall, CPU seconds (user + system), peak RSS."""
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    if src is not None:
        env["PYTHONPATH"] = str(src / "src")
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True);"
             " u = resource.getrusage(resource.RUSAGE_CHILDREN);"
             " print(u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode); sys.exit(r.returncode)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "coditect_memory",
                           "ingest", str(data), "--json"], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu, rss, _ = proc.stdout.split()
    return {"wall": wall, "cpu": float(cpu), "rss": int(rss) * 1024, "bytes": dir_size(home)}


def objects(home: Path) -> dict[str, int]:
    """Bytes of each table and index of the store (dbstat: pages, with their free space)."""
    db = sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    finally:
        db.close()


def busiest(home: Path) -> str:
    """The session with the most API responses."""
    from coditect_memory.store.sqlite.packing import uuid_sql

    db = sqlite3.connect(f"file:{home / 'memory.db'}?mode=ro", uri=True)
    try:
        return db.execute(f"SELECT {uuid_sql('session_id')} FROM api_usage WHERE session_id IS NOT NULL"
                          " GROUP BY session_id ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=150_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, required=True, help="data and stores (kept)")
    ap.add_argument("--before", type=Path, required=True, metavar="SRC",
                    help="the source tree to compare with (e.g. `git archive` of main)")
    ap.add_argument("--rounds", type=int, default=2, help="ingests per side, alternated")
    ap.add_argument("--reads", type=int, default=5, help="runs of each read per side")
    ap.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "src"))
    from coditect_memory.sample import generate

    args.workdir.mkdir(parents=True, exist_ok=True)
    data = args.workdir / f"claude-{args.messages}-{args.seed}"
    truth_path = args.workdir / f"truth-{args.messages}-{args.seed}.json"
    if truth_path.exists() and data.is_dir():
        truth = json.loads(truth_path.read_text())
    else:
        truth = generate(data, messages=args.messages, seed=args.seed)
        truth_path.write_bytes(orjson.dumps(truth))
    input_bytes = dir_size(data)
    homes = {"before": args.workdir / "home-before", "after": args.workdir / "home"}
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for i in range(args.rounds):
        for side, src in (("before", args.before), ("after", None)):
            print(f"ingest {side} {i + 1}/{args.rounds} ...", file=sys.stderr)
            runs[side].append(ingest(data, homes[side], src))
    sizes = {side: objects(h) for side, h in homes.items()}
    rows = [("data", f"{truth['transcript_messages']:,} transcript messages, {truth['messages']:,} "
             f"rows, {mb(input_bytes)}", "")]
    for side in ("before", "after"):
        r = runs[side]
        rows += [
            (f"{side}: store + keyword index", f"{mb(r[-1]['bytes'])} "
             f"(**{r[-1]['bytes'] / input_bytes:.1%}** of the input)", store_split(homes[side])),
            (f"{side}: ingest CPU s (user + system)", ", ".join(f"{x['cpu']:.1f}" for x in r),
             f"median {statistics.median(x['cpu'] for x in r):.1f}"),
            (f"{side}: ingest wall s", ", ".join(f"{x['wall']:.1f}" for x in r),
             f"median {statistics.median(x['wall'] for x in r):.1f}"),
            (f"{side}: peak RSS", ", ".join(mb(x["rss"]) for x in r), ""),
        ]
    md = table(rows, ("measure", "value", "notes"))
    names = sorted(set(sizes["before"]) | set(sizes["after"]),
                   key=lambda n: -max(sizes["before"].get(n, 0), sizes["after"].get(n, 0)))
    md += "\n\nBytes by table and index (dbstat, the last store of each side):\n\n" + table(
        [(n, mb(sizes["before"].get(n, 0)), mb(sizes["after"].get(n, 0)),
          f"{(sizes['after'].get(n, 0) - sizes['before'].get(n, 0)) / 1e6:+,.1f} MB")
         for n in names[:16]], ("object", "before", "after", "change"))
    if args.reads:
        print("reads, before and after alternated ...", file=sys.stderr)
        md += ("\n\nReads, each command a fresh process, before and after alternated "
               f"({args.reads} runs each):\n\n" + table(
                   reads(homes["after"], homes["before"], args.before, args.reads,
                         (*MORE_READS, ("report session (most usage)", (
                             "report", "session", busiest(homes["after"]), "--json")))),
                   ("command", "side", "wall (whole process)", "output")))
    print(md)
    if args.record:
        cmd = f".venv/bin/python benchmarks/bench_store_size.py {' '.join(sys.argv[1:])}"
        append_results(f"store size, {truth['transcript_messages']:,} transcript messages",
                       f"Command: `{cmd}`\n\n{md}\n")


if __name__ == "__main__":
    main()
