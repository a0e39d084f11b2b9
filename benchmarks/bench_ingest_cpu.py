"""CPU seconds of a first ingest's phases, for several source trees, alternated in one run.

    .venv/bin/python benchmarks/bench_ingest_cpu.py --data DIR --workdir W \\
        --code before=/path/to/old/tree --code after=. [--config after-5000='[ingest]...'] \\
        [--repeat 3] [--extract]

Each run is the ingest pipeline (`ingest.pipeline.Ingest`: read, mask, write, build the
deferred indexes, derive; no keyword index) in a fresh process (PYTHONPATH = the tree's
`src`) into a fresh SQLite store, with the store's phases timed apart (wall and the main
thread's CPU): `write_batch`, `build_deferred_indexes`, `link_plans`, `derive_sessions`; with
`--extract`, memory extraction after it (`memories.lifecycle.extract`), as `memory ingest`
runs them (within `reports_behind` where the tree has it: a first build of the report
rollups then runs on a thread of its own, whose CPU is shown apart as "rollups thread"; "run
CPU" is the main thread's, the critical path, "process CPU" both). The trees run in turn,
`--repeat` times, so each sees the same load drift; CPU seconds are what a loaded machine
hardly moves.
`--config NAME=TOML` adds a variant: the tree of `--code NAME`'s prefix (before the first
'-') with that config.toml. Prints each run, then a Markdown table of the medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest_overlap import ROOT, one  # noqa: E402

PHASES = ("write_batch", "build_deferred_indexes", "link_plans", "derive_sessions")

CHILD = r"""
import contextlib, json, os, resource, sys, time
from pathlib import Path
from coditect_memory.ingest.pipeline import Ingest
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

spent = {}

def timed(obj, name, key=None):
    f = getattr(obj, name, None)
    if f is None:
        return
    def g(*a, **k):
        t, c = time.perf_counter(), time.thread_time()
        try:
            return f(*a, **k)
        finally:
            w, cc = spent.get(key or name, (0.0, 0.0))
            spent[key or name] = (w + time.perf_counter() - t, cc + time.thread_time() - c)
    setattr(obj, name, g)

try:  # the report rollups' first build on a thread of its own (this tree has it)
    from coditect_memory.store.sqlite.rollups_behind import FirstBuild
    timed(FirstBuild, "run", "rollups thread")
except ImportError:
    pass
settings = load_settings()
memories = None
with open_store(settings) as store:
    for name in PHASES:
        timed(store, name)
    t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    with getattr(store, "reports_behind", contextlib.nullcontext)():
        stats = Ingest(store, settings, space_check=False).run(Path(sys.argv[1]))
        if sys.argv[2] == "1":
            from coditect_memory.memories.lifecycle import extract
            t, c = time.perf_counter(), time.thread_time()
            res = extract(store, settings.memories)
            spent["extract"] = (time.perf_counter() - t, time.thread_time() - c)
            memories = res.new
    wall, cpu, pcpu = time.perf_counter() - t0, time.thread_time() - c0, time.process_time() - p0
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
size = os.path.getsize(settings.db_path)
print(json.dumps({"rows": stats.messages_new, "memories": memories, "wall": wall, "cpu": cpu, "pcpu": pcpu,
                  "spent": spent, "size": size,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
""".replace("PHASES", repr(PHASES))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a Claude folder (e.g. bench_ingest's)")
    ap.add_argument("--workdir", type=Path, required=True, help="where the stores go (removed after)")
    ap.add_argument("--code", action="append", default=[], metavar="NAME=TREE",
                    help="a source tree (holding src/) to measure; repeatable (default: this one)")
    ap.add_argument("--config", action="append", default=[], metavar="NAME=TOML",
                    help="a variant: the tree --code PREFIX (NAME up to its first '-') with this config.toml")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--extract", action="store_true", help="also time memory extraction")
    args = ap.parse_args()
    trees = dict(c.split("=", 1) for c in args.code) or {"this": str(ROOT)}
    variants = [(name, Path(tree), "") for name, tree in trees.items()]
    for c in args.config:
        name, toml = c.split("=", 1)
        variants.append((name, Path(trees[name.split("-", 1)[0]]), toml.replace("\\n", "\n")))
    runs: dict[str, list[dict]] = {name: [] for name, *_ in variants}
    for i in range(args.repeat):
        for name, tree, config in variants:
            r = one(args.data, args.workdir / "home", tree, config, CHILD, "1" if args.extract else "0")
            runs[name].append(r)
            parts = ", ".join(f"{k} {w:.2f}/{c:.2f}" for k, (w, c) in r["spent"].items())
            print(f"{i + 1} {name}: {r['wall']:.1f} s wall, {r['cpu']:.2f} s CPU (process"
                  f" {r.get('pcpu', r['cpu']):.2f} s), {r['rows']:,} rows,"
                  f" {r['memories']} memories, store {r['size'] / 1e6:.1f} MB,"
                  f" peak RSS {r['rss'] / 1e6:.0f} MB; {parts}"
                  f" (wall/CPU s)", file=sys.stderr, flush=True)
    extra = ["extract"] if args.extract else []
    if any("rollups thread" in r["spent"] for rs in runs.values() for r in rs):
        extra.append("rollups thread")
    cols = ["run CPU", *(f"{p} CPU" for p in (*PHASES, *extra)), "process CPU"]
    print(f"| code | runs | {' | '.join(cols)} | run wall | store |")
    print("|---|---:|" + "---:|" * (len(cols) + 2))
    for name, rs in runs.items():
        def med(key: str, rs: list[dict] = rs) -> float:
            return statistics.median(r["cpu"] if key == "run" else r.get("pcpu", r["cpu"])
                                     if key == "process" else r["spent"].get(key, (0, 0))[1]
                                     for r in rs)
        cells = [med("run"), *(med(p) for p in (*PHASES, *extra)), med("process")]
        print(f"| {name} | {len(rs)} | " + " | ".join(f"{c:.2f} s" for c in cells)
              + f" | {statistics.median(r['wall'] for r in rs):.1f} s"
              f" | {statistics.median(r['size'] for r in rs) / 1e6:.1f} MB |")
    print(f"\nmedians; load average at the end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
