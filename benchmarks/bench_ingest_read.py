"""The ingest process's own work in a first ingest's read phase, for several source trees:
readers, privacy masking, row building and the batch's encoding for the writer process, with
the store's writes left out (they are the writer's).

    .venv/bin/python benchmarks/bench_ingest_read.py --data DIR \\
        --code before=/path/to/old/tree --code after=. [--repeat 3] [--instructions]

Each tree reads DIR in a fresh process (PYTHONPATH = the tree's `src`) with
`ingest.pipeline.Ingest`, `write_batch` replaced by the ingest process's half of a
written-behind batch (`_prepare` and its encoding for the pipe), and prints the CPU seconds of
each of `--repeat` reads (the first warms the page cache and the imports). Trees run in turn.
`--instructions` counts instead the instructions of one read under valgrind (callgrind:
(3 reads - 1 read) / 2, ~100x slower, so use a small DIR, e.g. `memory sample --messages
5000`): deterministic to ~0.5%, where CPU seconds on a loaded machine move 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, pickle, resource, shutil, sys, tempfile
from pathlib import Path
home = Path(tempfile.mkdtemp(prefix="bench-read-"))
(home / "config.toml").write_text("[search]\nindex_on_ingest = false\n[ingest]\nwrite_behind_mb = -1\n")
os.environ["MEMORY_HOME"] = str(home)
from coditect_memory.ingest.pipeline import Ingest
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store
from coditect_memory.store.sqlite import behind

def cpu():
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime

settings = load_settings()
store = open_store(settings)
encode = getattr(behind, "_dump_batch", lambda prep: pickle.dumps(prep, protocol=5))

def write_batch(batch):
    encode(store._prepare(batch))
    return len(batch.records), 0

store.write_batch = write_batch
store.manifest = lambda root: {}  # every read reads every file
store.derive_sessions = lambda: 0
store.build_deferred_indexes = lambda: None
times, rows = [], 0
for _ in range(int(sys.argv[2])):
    c0 = cpu()
    rows = Ingest(store, settings).run(Path(sys.argv[1])).messages_read
    times.append(round(cpu() - c0, 2))
store.close()
shutil.rmtree(home, ignore_errors=True)
print(json.dumps({"cpu": times, "rows": rows}))
"""


def run(src: Path, data: Path, reads: int, valgrind: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src / "src"), "PYTHONHASHSEED": "0"}
    env.pop("MEMORY_DATABASE_URL", None)
    cmd = [sys.executable, "-c", CHILD, str(data), str(reads)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        if valgrind:
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise SystemExit(f"the read failed:\n{p.stderr[-3000:]}")
        result = json.loads(p.stdout.strip().splitlines()[-1])
        if valgrind:
            line = next(x for x in p.stderr.splitlines() if "Collected" in x)
            result["instructions"] = int(line.split()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a Claude folder (memory sample)")
    ap.add_argument("--code", action="append", default=[], metavar="NAME=SRC",
                    help="a source tree (its src/ is imported); default: after=this tree")
    ap.add_argument("--repeat", type=int, default=3, help="reads per tree")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions under valgrind instead of CPU seconds")
    args = ap.parse_args()
    if args.instructions and not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    trees = [tuple(c.split("=", 1)) for c in args.code] or [("after", str(ROOT))]
    rows = []
    for name, src in trees:
        if args.instructions:
            one, three = run(Path(src), args.data, 1, True), run(Path(src), args.data, 3, True)
            per_read = (three["instructions"] - one["instructions"]) // 2
            rows.append(f"| {name} | {one['rows']:,} | {per_read / 1e6:,.0f} M instructions |")
        else:
            r = run(Path(src), args.data, args.repeat)
            cpu = r["cpu"][1:] or r["cpu"]
            rows.append(f"| {name} | {r['rows']:,} | {', '.join(f'{c:.2f}' for c in r['cpu'])} s"
                        f" (best after the first: {min(cpu):.2f} s) |")
        print(rows[-1], file=sys.stderr)
    print("| code | rows | " + ("one read" if args.instructions else "CPU of each read") + " |")
    print("|---|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
