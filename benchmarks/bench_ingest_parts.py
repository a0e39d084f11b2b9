"""What each part of SQLite's insert costs an ingest: the same run with one part taken away.

    .venv/bin/python benchmarks/bench_ingest_parts.py --data DIR [--workdir W] [--each-index]
        [--indexes-only]

Each variant is the ingest pipeline (`ingest.pipeline.Ingest`: read, mask, write, derive;
no keyword index, no memory extraction) into a fresh SQLite store, in this process, with
`write_batch` timed apart. Variants: the store as shipped; without the backup
change-tracking triggers on `messages`; without its secondary indexes (all but the one
derivation names with INDEXED BY; with --each-index also one at a time); without packing
(metadata and texts stored as plain text). Variants run in turn, then again in reverse
order (the machine's load drifts); each variant's figures are those of its run with less
CPU (CPU time: the load hardly moves it). Nothing is recorded: paste the table into
RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from coditect_memory.ingest.pipeline import Ingest  # noqa: E402
from coditect_memory.settings import load_settings  # noqa: E402
from coditect_memory.store import open_store  # noqa: E402

TRIGGERS = ("backup_i_messages", "backup_u_messages", "backup_d_messages")
NAMED = ("messages_history_unlinked",)  # derivation names it (INDEXED BY): it stays


def _secondary(db: Any) -> list[str]:
    return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND"
                                     " tbl_name = 'messages' AND sql IS NOT NULL ORDER BY name")
            if r[0] not in NAMED]


def run(data: Path, home: Path, drop: list[str], plain: bool) -> dict[str, float]:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = load_settings(home)
    with open_store(settings) as store:
        db: Any = store.db  # type: ignore[attr-defined]
        for name in drop:
            kind = "TRIGGER" if name in TRIGGERS else "INDEX"
            db.execute(f'DROP {kind} IF EXISTS "{name}"')
        if plain:
            store.packs_content = False  # type: ignore[attr-defined]
            store.meta_codec.pack = lambda db, kind, text: (text, None)  # type: ignore[attr-defined]
        spent = [0.0, 0.0]
        write = store.write_batch

        def timed(batch: Any) -> tuple[int, int]:
            t, c = time.perf_counter(), time.process_time()
            try:
                return write(batch)
            finally:
                spent[0] += time.perf_counter() - t
                spent[1] += time.process_time() - c

        store.write_batch = timed  # type: ignore[method-assign]
        c0, t0 = time.process_time(), time.perf_counter()
        stats = Ingest(store, settings, space_check=False).run(data)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    shutil.rmtree(home, ignore_errors=True)
    return {"rows": stats.messages_new, "wall": wall, "cpu": cpu, "write": spent[0],
            "write_cpu": spent[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a ~/.claude folder (e.g. one "
                    "bench_ingest.py generated)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench-ingest-parts"))
    ap.add_argument("--each-index", action="store_true", help="also each index on its own")
    ap.add_argument("--indexes-only", action="store_true", help="only the store as shipped "
                    "and the index variants (with --each-index, each one too)")
    args = ap.parse_args()
    home = args.workdir / "home"
    shutil.rmtree(home, ignore_errors=True)  # a run stopped half-way left its variant's store
    with open_store(load_settings(home)) as store:  # the index names of this schema
        indexes = _secondary(store.db)  # type: ignore[attr-defined]
    variants: list[tuple[str, list[str], bool]] = [
        ("as shipped", [], False),
        ("no backup triggers on messages", list(TRIGGERS), False),
        (f"no secondary index on messages ({len(indexes)})", indexes, False),
        ("no packing (plain metadata and texts)", [], True),
    ]
    if args.each_index:
        variants += [(f"no index {name}", [name], False) for name in indexes]
    if args.indexes_only:
        variants = [v for v in variants if "index" in v[0] or v[0] == "as shipped"]
    best: dict[str, dict[str, float]] = {}
    for order in (variants, variants[::-1]):
        for name, drop, plain in order:
            r = run(args.data, home, drop, plain)
            print(f"{name}: {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, write_batch "
                  f"{r['write']:.2f} s ({r['write_cpu']:.2f} s CPU), {r['rows']:,} rows",
                  file=sys.stderr)
            if name not in best or r["cpu"] < best[name]["cpu"]:
                best[name] = r
    base = best["as shipped"]
    print("| variant | run wall | run CPU | write_batch wall | write_batch CPU | CPU vs as shipped |\n"
          "|---|---:|---:|---:|---:|---:|")
    for name, *_ in variants:
        r = best[name]
        print(f"| {name} | {r['wall']:.2f} s | {r['cpu']:.2f} s | {r['write']:.2f} s | "
              f"{r['write_cpu']:.2f} s | {r['write_cpu'] - base['write_cpu']:+.2f} s |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
