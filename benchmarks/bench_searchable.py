"""What making file versions searchable costs (issue 18, item 3), against the code before it,
in one run:

    git archive 9d316ce src | tar -x -C /tmp/before      # the code before the change
    .venv/bin/python benchmarks/bench_searchable.py --messages 200000 --before /tmp/before

1. generates (or reuses, in --workdir) a sample ~/.claude of about --messages transcript
   messages (not timed);
2. ingests it twice with each code, in alternating order (before, after, after, before: the
   machine's drift falls on both), each into a fresh home: wall time and rows/s, keyword
   index included (ingest builds it);
3. the one-time catch-up of a store and index made by the code before: `memory index` with
   this code adds the file versions to the existing index (no rebuild);
4. keyword search latency in each home with its own code: bench_search.py's keyword queries
   plus file-version ones, `--reps` times each in one process per home, 4 x `--rounds`
   processes alternating between the codes, p50/p95 per group;
5. appends a dated section to benchmarks/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_search import KEYWORD, pct  # noqa: E402
from common import append_results, machine, run_measured, table  # noqa: E402

QUERIES = [(label, q, opts, group) for label, q, opts, group in KEYWORD] + [
    ("file versions: a word", "retry", {"source": ["file_history"]}, "file_history"),
    ("file versions: path + word", "handler.py timeout", {"source": ["file_history"]}, "file_history"),
    ("file versions + facets", "def", {"source": ["file_history"], "facets": True}, "file_history"),
]

# Runs in a child process with one code tree: the queries, `reps` times each, timed around
# the action (what a search costs a door: the up-to-date check, query, hydration, snippets).
PROBE = """
import json, sys, time
from coditect_memory.actions.search import SearchRequest, search
from coditect_memory.search.cache import SearchCache
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
queries, reps = json.loads(sys.argv[1]), int(sys.argv[2])
settings, cache, out = load_settings(), SearchCache(), []
with open_store(settings, create=False) as store:
    search(store, settings, SearchRequest(query="warm up", mode="keyword"), cache)
    for label, q, opts, group in queries:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            res = search(store, settings, SearchRequest(query=q, mode="keyword", **opts), cache)
            times.append((time.perf_counter() - t0) * 1000)
        out.append({"label": label, "group": group, "times": times, "total": res.total})
print(json.dumps(out))
"""


def env_for(home: Path, src: Path | None) -> dict[str, str]:
    env = {**os.environ, "MEMORY_HOME": str(home)}
    env.pop("MEMORY_DATABASE_URL", None)
    env["PYTHONPATH"] = str((src or ROOT) / "src")
    return env


def memory(args: list[str], env: dict[str, str]) -> tuple[dict, float, int]:
    proc, wall, rss = run_measured([sys.executable, "-m", "coditect_memory", *args], env)
    if proc.returncode != 0:
        raise SystemExit(f"memory {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout), wall, rss


def probe(home: Path, src: Path | None, reps: int) -> list[dict]:
    queries = [q for q in QUERIES if src is None or q[3] != "file_history"]
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(queries), str(reps)],
                          env=env_for(home, src), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"search probe failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--before", type=Path, required=True, metavar="SRC",
                    help="a source tree with the code before the change (`git archive`)")
    ap.add_argument("--workdir", type=Path, help="data and stores (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the workdir (data is reused)")
    ap.add_argument("--data", type=Path, help="an existing sample ~/.claude to use (read only)")
    ap.add_argument("--reps", type=int, default=5, help="each query, in each search process")
    ap.add_argument("--rounds", type=int, default=3, help="of 4 search processes (2 per code)")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-searchable-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    load = os.getloadavg()[0]
    data = args.data or work / f"claude-{args.messages}"
    if not (data / "projects").is_dir():
        print(f"generating {args.messages:,} messages ...", file=sys.stderr)
        memory(["sample", str(data), "--messages", str(args.messages), "--json"], env_for(work / "x", None))
    versions = sum(1 for _ in (data / "file-history").rglob("*@v*"))
    ingests: dict[str, list[tuple[float, int, int]]] = {"before": [], "after": []}
    homes = {}
    for n, which in enumerate(("before", "after", "after", "before")):
        src = args.before if which == "before" else None
        home = work / f"home-{which}-{n}"
        shutil.rmtree(home, ignore_errors=True)
        print(f"ingest ({which}) ...", file=sys.stderr)
        out, wall, rss = memory(["ingest", str(data), "--json"], env_for(home, src))
        ingests[which].append((wall, out["messages_new"], rss))
        if which in homes:
            shutil.rmtree(home, ignore_errors=True)
        else:
            homes[which] = home
    catchup_home = work / "home-catchup"
    shutil.rmtree(catchup_home, ignore_errors=True)
    shutil.copytree(homes["before"], catchup_home)
    print("catch-up of the store made before ...", file=sys.stderr)
    caught, catchup_wall, _ = memory(["index", "--json"], env_for(catchup_home, None))
    shutil.rmtree(catchup_home, ignore_errors=True)
    times: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    rounds = ("before", "after", "after", "before") * args.rounds  # drift falls on both
    for which in rounds:
        print(f"search ({which}) ...", file=sys.stderr)
        for r in probe(homes[which], args.before if which == "before" else None, args.reps):
            times[which].setdefault(r["group"], []).extend(r["times"])
    rows = []
    for which in ("before", "after"):
        walls = [w for w, _, _ in ingests[which]]
        rows.append((f"ingest {which}: wall (2 runs)", " / ".join(f"{w:.1f} s" for w in walls),
                     f"{ingests[which][0][1] / min(walls):,.0f} rows/s at best, peak RSS "
                     f"{max(r for _, _, r in ingests[which]) >> 20} MB"))
    rows.append(("ingest after / before (best of 2 each)",
                 f"{min(w for w, _, _ in ingests['after']) / min(w for w, _, _ in ingests['before']):.3f}x",
                 f"{versions:,} file versions in the data"))
    rows.append(("catch-up of a store made before (`memory index`)", f"{catchup_wall:.1f} s",
                 f"{caught['indexed']:,} documents added, rebuilt: {caught['rebuilt']}"))
    for group in ("terms", "question", "filtered", "file_history"):
        for which in ("before", "after"):
            t = times[which].get(group)
            if t:
                rows.append((f"keyword {group}: {which}", f"p50 {pct(t, 50):.1f} ms, p95 {pct(t, 95):.1f} ms",
                             f"{len(t)} searches"))
    body = "\n".join([
        f"`{' '.join(sys.argv)}` (run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); "
        f"{json.dumps(machine())}; load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end (other work shares the machine: compare before "
        "and after of this run only)", "",
        table(rows, ("measure", "value", "notes"))])
    print(body)
    if not args.no_record:
        append_results("Everything searchable: file versions in the index, before and after", body)


if __name__ == "__main__":
    main()
