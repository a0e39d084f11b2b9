"""Where a first ingest's time goes, with the keyword index built after the run (as before
issue 18: `[ingest] index_alongside_mb = -1`) and alongside it (a second process), alternated
in one run so both see the same load.

    .venv/bin/python benchmarks/bench_ingest_overlap.py --data DIR --workdir W [--repeat 2] [--before SRC]

Each ingest runs the `ingest` action in a fresh process with a fresh MEMORY_HOME and reports:
wall time; the ingest process's own CPU seconds (on an idle 2-core machine, its critical
path: the follower and the write-behind process work on the other core); the writer's and
the follower's CPU seconds and peak RSS; the ingest process's peak RSS; when each phase started (seconds from the start). `--before SRC`
adds the same ingest with another source tree's code (e.g. `git archive` of main).
Prints a Markdown table (paste it into RESULTS.md with the machine's load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from coditect_memory.actions.ingest import Progress, ingest
from coditect_memory.settings import load_settings
from coditect_memory.store import open_store

t0 = time.perf_counter()
marks = {}

class Marks(Progress):
    def phase(self, text):
        marks[text] = round(time.perf_counter() - t0, 1)

settings = load_settings()
with open_store(settings) as store:
    r = ingest(store, settings, Path(sys.argv[1]), progress=Marks())
    writer = getattr(store, "behind_cost", None)  # the write-behind process (store/sqlite/behind.py)
wall = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "cpu": use.ru_utime + use.ru_stime, "rss": use.ru_maxrss * 1024,
                  "marks": marks, "index": r.search.get("index"), "rows": r.stats.messages_new,
                  "writer": writer}))
"""


def one(data: Path, home: Path, src: Path, config: str, child: str = CHILD,
        *args: str) -> dict:
    """`child` (a script printing one JSON line last) run with the code of `src` on `data`
    into a fresh MEMORY_HOME `home` (with this config.toml), which is removed after."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if config:
        (home / "config.toml").write_text(config)
    env = {**os.environ, "MEMORY_HOME": str(home), "PYTHONPATH": str(src / "src")}
    env.pop("MEMORY_DATABASE_URL", None)
    p = subprocess.run([sys.executable, "-c", child, str(data), *args], env=env,
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SystemExit(f"ingest failed:\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    shutil.rmtree(home, ignore_errors=True)
    return out


def _mb(n: int | None) -> str:
    return "—" if n is None else f"{n / 1e6:.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a Claude folder (e.g. bench_ingest's)")
    ap.add_argument("--workdir", type=Path, required=True, help="where the stores go (removed after)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--before", type=Path, metavar="SRC", help="also this source tree's code")
    ap.add_argument("--no-after", action="store_true",
                    help="skip the run with the index built after the ingest")
    ap.add_argument("--config", action="append", default=[], metavar="NAME=TOML",
                    help="also this code alongside with this config.toml (e.g. no-extract="
                    "'[memories]\\nextract_on_ingest = false')")
    args = ap.parse_args()
    modes = [("after", ROOT, "[ingest]\nindex_alongside_mb = -1\n"), ("alongside", ROOT, "")]
    if args.no_after:
        modes = modes[1:]
    modes += [(name, ROOT, toml.replace("\\n", "\n"))
              for name, toml in (c.split("=", 1) for c in args.config)]
    if args.before:
        modes.insert(0, ("before", args.before, ""))
    rows = []
    for i in range(args.repeat):
        for name, src, config in modes:
            r = one(args.data, args.workdir / f"home-{name}", src, config)
            idx = r["index"] or {}
            writer = r.get("writer") or {}
            rate = r["rows"] / r["wall"]
            line = (f"| {i + 1} | {name} | {r['wall']:.1f} s | {rate:,.0f} | {r['cpu']:.1f} s |"
                    f" {writer.get('cpu_seconds', '—')} | {idx.get('cpu_seconds', '—')} |"
                    f" {r['rss'] / 1e6:.0f} MB | {_mb(writer.get('peak_rss'))} |"
                    f" {_mb(idx.get('peak_rss'))} |")
            derived = r["marks"].get("extracting memories", r["marks"].get("updating the search index"))
            tail = f"{r['wall'] - derived:.1f} s" if derived is not None else "—"
            rows.append(line + " " + ", ".join(f"{k} {v} s" for k, v in r["marks"].items())
                        + f" | {tail} |")
            print(rows[-1], file=sys.stderr, flush=True)
    print("| # | code | wall | rows/s | ingest process CPU | writer CPU | follower CPU |"
          " ingest peak RSS | writer peak RSS | follower peak RSS | phases began at |"
          " after derivation |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
