"""The keyword index built from a finished store, as the follower process and `memory index
--rebuild` build it, with each code tree alternated in one run so both see the same load.

    .venv/bin/python benchmarks/bench_index_build.py --home H [--before SRC] [--repeat 3]

H is a MEMORY_HOME with an ingested store, opened read only: the index is written to a
temporary folder and the store's index state is not touched. Each build runs the tree's
own `search.indexer._build` in a fresh process and reports CPU seconds (the machine is shared:
wall is noise): in all, reading the rows (`rows_to_index`), making the documents
(`document`) and the rest (Tantivy's tokenizing and indexing, in its own thread, plus the
loop), the index's size and its documents; then the keyword queries of bench_search.py on
the index built (the best of 5 runs each, and whether each query's top 50, ids and scores,
and count are the first build's). `--before SRC` adds the same build with another
source tree's code (e.g. `git archive` of main). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import KEYWORD  # noqa: E402

QUERIES = [q for _, q, filters, _ in KEYWORD if not filters]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from coditect_memory.search import indexer
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

spent = {"read": 0.0, "docs": 0.0}

class Unrecorded:
    # The store, read only, with the index's bookkeeping writes left out.
    def __init__(self, store):
        self.store = store
    def __getattr__(self, name):
        return getattr(self.store, name)
    def put_tails(self, *a, **k):
        pass
    def put_index_state(self, *a, **k):
        return True
    def drop_index_states(self, *a, **k):
        pass
    def rows_to_index(self, *a, **k):
        rows = self.store.rows_to_index(*a, **k)
        while True:
            t = time.thread_time()
            batch = next(rows, None)
            spent["read"] += time.thread_time() - t
            if batch is None:
                return
            yield batch

document = indexer.document
def timed_document(row):
    t = time.thread_time()
    d = document(row)
    spent["docs"] += time.thread_time() - t
    return d
indexer.document = timed_document

def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime

out = Path(sys.argv[1])
with open_store(load_settings(), readonly=True) as store:
    c0, t0 = cpu(), time.perf_counter()
    r = indexer._build(Unrecorded(store), out, None)
    total, wall = cpu() - c0, time.perf_counter() - t0
size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

# The keyword queries of bench_search.py on the index just built: each one's top 50 (ids and
# scores) and its time, the best of a few runs after a warm-up.
from coditect_memory.search.filters import Filters
from coditect_memory.search.index import KeywordIndex
from coditect_memory.search.keyword import KeywordSearcher
from coditect_memory.search.query import parse

searcher = KeywordSearcher(KeywordIndex(next(out.glob("keyword-*"))), load_settings().search)
tops, times = [], []
for q in json.loads(sys.argv[2]):
    parsed = parse(q)
    searcher.search(parsed, Filters(), 50)
    best = []
    for _ in range(5):
        t = time.perf_counter()
        res = searcher.search(parsed, Filters(), 50)
        best.append((time.perf_counter() - t) * 1000)
    times.append(min(best))
    tops.append([(h.id, round(h.score, 4)) for h in res.hits] + [res.total])
print(json.dumps({"cpu": total, "wall": wall, "read": spent["read"], "docs": spent["docs"],
                  "indexed": r.indexed, "size": size, "rss": rss, "tops": tops, "ms": times}))
"""


def build(home: Path, src: Path, scratch: Path) -> dict:
    """One index build by the code in `src` from the store in `home`, into `scratch`."""
    shutil.rmtree(scratch, ignore_errors=True)
    env = {**os.environ, "MEMORY_HOME": str(home), "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(scratch), json.dumps(QUERIES)], env=env,
                          capture_output=True, text=True)
    shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode != 0:
        sys.exit(f"the build with {src} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a MEMORY_HOME with an ingested store")
    ap.add_argument("--before", type=Path, help="another source tree (its src folder's parent or itself)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    trees = [("after (this tree)", ROOT / "src")]
    if args.before:
        before = args.before / "src" if (args.before / "src").is_dir() else args.before
        trees.insert(0, ("before", before))
    print("| # | code | CPU s | reading rows | documents | Tantivy and the rest | wall s | documents indexed"
          " | index MB | peak RSS MB | keyword search p50 / max ms | top 50s as the first build's |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    first = None
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        for i in range(1, args.repeat + 1):
            for label, src in trees:
                r = build(args.home, src, Path(tmp) / "index")
                rest = r["cpu"] - r["read"] - r["docs"]
                first = first or r["tops"]
                same = sum(a == b for a, b in zip(r["tops"], first, strict=True))
                print(f"| {i} | {label} | {r['cpu']:.2f} | {r['read']:.2f} | {r['docs']:.2f} | {rest:.2f}"
                      f" | {r['wall']:.1f} | {r['indexed']:,} | {r['size'] / 1e6:.1f} | {r['rss'] / 1e6:.0f}"
                      f" | {statistics.median(r['ms']):.1f} / {max(r['ms']):.1f}"
                      f" | {same} of {len(first)} queries |", flush=True)


if __name__ == "__main__":
    main()
